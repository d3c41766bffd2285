namespace WarpDrive.Mount.Tests;

/// <summary>
/// What a new user sees when the input is wrong: the real agent process fed bad configs, files and flags. Each
/// must exit with its documented code and one line naming the key (or flag) at fault, and stderr must never show
/// an exception type, an exception's text or a stack trace.
/// </summary>
[NonParallelizable]
public sealed class StartupErrorTests
{
    private const string KeyVariable = "WD_STARTUP_TEST_AZURE_KEY";
    private const string NotBase64Key = "this*is*not*base64!";

    [OneTimeSetUp]
    public void SetKeyVariable() => Environment.SetEnvironmentVariable(KeyVariable, NotBase64Key); // inherited by the agent

    [OneTimeTearDown]
    public void ClearKeyVariable() => Environment.SetEnvironmentVariable(KeyVariable, null);

    public static IEnumerable<TestCaseData> BadConfigs()
    {
        TestCaseData Case(string name, Func<TestSandbox, string> yaml, string expected) =>
            new TestCaseData(yaml, expected).SetName($"BadConfigExitsTwoNamingTheKey({name})");

        yield return Case("misspelt local option", s => LocalYaml(s, "root: " + Quote(s.CreateSource("d")), "follow_symlnks: true"),
            "warpdrive-node: invalid configuration: backends[0].config.follow_symlnks: unknown key for type local (allowed: root, serve_in_place)");
        yield return Case("misspelt root", s => LocalYaml(s, "rooot: " + Quote(s.CreateSource("d"))),
            "warpdrive-node: invalid configuration: backends[0].config.rooot: unknown key for type local, did you mean root?");
        yield return Case("local root missing", s => LocalYaml(s, "root: " + Quote(Path.Combine(s.Root, "nowhere"))),
            "warpdrive-node: invalid configuration: backends[0].config.root: ");
        yield return Case("account key not base64", s => AzureYaml(s, KeyVariable),
            $"warpdrive-node: invalid configuration: backends[0].auth.account_key_env: the value of {KeyVariable} is not base64");
        yield return Case("account key variable unset", s => AzureYaml(s, "WD_STARTUP_TEST_UNSET_VARIABLE"),
            "warpdrive-node: invalid configuration: backends[0].auth.account_key_env: environment variable WD_STARTUP_TEST_UNSET_VARIABLE is not set");
        yield return Case("pod identity without Kubernetes", s => Head(s) + "  - name: s3data\n    type: s3\n    config:\n      bucket: b\n      endpoint: http://127.0.0.1:9\n"
            + "    auth:\n      method: oidc_federation\n      source: pod\n      role_arn: arn:aws:iam::1:role/r\n",
            "warpdrive-node: invalid configuration: backends[0].auth.source: \"pod\" reads with each Kubernetes pod's own identity, which only the CSI plugin has");
        yield return Case("pod identity with a method that cannot take a token", s => AzureYaml(s, KeyVariable).Replace("method: static", "method: static\n      source: pod", StringComparison.Ordinal),
            "warpdrive-node: invalid configuration: backends[0].auth.source: \"pod\" federates each pod's service-account token, which only oidc_federation (s3), workload_identity (azureblob), gcp_wif (gcs) can do");
        yield return Case("not YAML", s => "mount_point: [\n", "warpdrive-node: invalid configuration: config: not valid YAML at line");
        yield return Case("relative mount point", s => "mount_point: mnt\n", "warpdrive-node: invalid configuration: mount_point: \"mnt\" is not an absolute path");
        yield return Case("misspelt rclone option", s => RcloneYaml(s, "copy_linkz: \"true\""),
            "warpdrive-node: invalid configuration: backends[0].config.copy_linkz: not an option of rclone remote type local");
        yield return Case("unknown rclone remote type", s => RcloneYaml(s, "", remoteType: "locall"),
            "warpdrive-node: invalid configuration: backends[0].config.type: rclone has no remote type \"locall\"");
        yield return Case("rclone binary missing", s => RcloneYaml(s, "rclone_binary: " + Quote(Path.Combine(s.Root, "no-rclone"))),
            "warpdrive-node: invalid configuration: backends[0].config.rclone_binary: cannot run");
    }

    [TestCaseSource(nameof(BadConfigs))]
    public async Task BadConfigExitsTwoNamingTheKey(Func<TestSandbox, string> yaml, string expected)
    {
        using var sandbox = new TestSandbox();
        await using var agent = AgentProcess.Start(sandbox, yaml(sandbox), sandbox.MountPoint);

        Assert.That(await agent.WaitForExitAsync(), Is.EqualTo(2), agent.Stderr);
        Assert.That(agent.Stderr, Does.StartWith(expected));
        Assert.That(agent.Stderr.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), "one line");
        AssertNoExceptionText(agent.Stderr);
        Assert.That(agent.Stderr, Does.Not.Contain(NotBase64Key), "a secret's value is never shown");
        Assert.That(MountTable.IsMounted(sandbox.MountPoint), Is.False);
    }

    [TestCase("mount", "--bogus", TestName = "BadFlagExitsTwo")]
    [TestCase("mount", "--log-level", "Loud", TestName = "BadLogLevelExitsTwo")]
    [TestCase("mount", "--config", "/nonexistent/warpdrive.yaml", TestName = "MissingConfigFileExitsTwo")]
    [TestCase("mount", "--config", "/proc", TestName = "ConfigPathIsADirectoryExitsTwo")]
    public async Task BadCommandLineExitsTwoInOneLine(params string[] arguments)
    {
        using var sandbox = new TestSandbox();
        await using var agent = AgentProcess.StartWithArguments(sandbox.MountPoint, arguments);

        Assert.That(await agent.WaitForExitAsync(), Is.EqualTo(2), agent.Stderr);
        Assert.That(agent.Stderr, Does.StartWith("warpdrive-node: "));
        AssertNoExceptionText(agent.Stderr);
    }

    [TestCase("mount point is a file")]
    [TestCase("cache path is a file")]
    public async Task UnusableDirectoryExitsOneWithoutExceptionText(string kind)
    {
        using var sandbox = new TestSandbox();
        var file = Path.Combine(sandbox.Root, "a-file");
        await File.WriteAllTextAsync(file, "not a directory");
        var config = AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", sandbox.CreateSource("data")));
        config = kind == "mount point is a file" ? config with { MountPoint = file } : config with { CachePath = file };
        await using var agent = AgentProcess.Start(sandbox, config);

        Assert.That(await agent.WaitForExitAsync(), Is.EqualTo(1), agent.Stderr);
        Assert.That(agent.Stderr, Does.Contain(file));
        AssertNoExceptionText(agent.Stderr);
    }

    private static void AssertNoExceptionText(string stderr)
    {
        Assert.That(stderr, Does.Not.Contain("Exception"), "an exception type or text reached the user");
        Assert.That(stderr, Does.Not.Contain("   at "), "a stack trace reached the user");
        Assert.That(stderr, Does.Not.Contain("(Parameter '"), "an ArgumentException's parameter note reached the user");
    }

    private static string Head(TestSandbox sandbox) =>
        $"mount_point: {Quote(sandbox.MountPoint)}\ncache:\n  path: {Quote(sandbox.CachePath)}\nmetrics:\n  enabled: false\nbackends:\n";

    private static string LocalYaml(TestSandbox sandbox, params string[] configLines) =>
        Head(sandbox) + "  - name: data\n    type: local\n    config:\n" + string.Concat(configLines.Select(l => $"      {l}\n"));

    private static string AzureYaml(TestSandbox sandbox, string variable) =>
        Head(sandbox) + "  - name: blobs\n    type: azureblob\n    config:\n      account: devstoreaccount1\n      container: data\n"
        + "      endpoint: http://127.0.0.1:9/devstoreaccount1\n    auth:\n      method: static\n"
        + $"      account_key_env: {variable}\n";

    private static string RcloneYaml(TestSandbox sandbox, string extraLine, string remoteType = "local") =>
        Head(sandbox) + $"  - name: remote\n    type: rclone\n    config:\n      type: {remoteType}\n      path: {Quote(sandbox.CreateSource("r"))}\n"
        + (extraLine.Length > 0 ? $"      {extraLine}\n" : "");

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
