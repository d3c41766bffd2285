namespace WarpDrive.Ctl.Tests;

/// <summary>Exit codes, help and error messages of the command line itself.</summary>
public sealed class CommandLineTests
{
    private static readonly string[][] Commands =
    [
        [], ["warm"], ["stats"], ["usage"], ["stale"], ["quota"], ["quota", "set"], ["quota", "list"], ["status"], ["move"], ["serve"],
    ];

    [TestCaseSource(nameof(Commands))]
    public async Task EveryCommandHasHelp(string[] command)
    {
        var result = await CtlProcess.RunAsync([.. command, "--help"]);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(result.Stdout, Does.Contain("Usage:").And.Contain(string.Join(' ', ["warpdrive-ctl", .. command])));
            Assert.That(result.Stdout, Does.Contain("--format"), "global options are listed everywhere");
        });
    }

    [TestCase("usage", "--bogus")]
    [TestCase("usage", "--group-by", "planet")]
    [TestCase("usage", "--format", "xml")]
    [TestCase("stale", "--days", "-1")]
    [TestCase("stale", "--min-size", "lots")]
    [TestCase("quota", "set", "--team", "ml")]
    [TestCase("quota", "set", "--team", "ml", "--backend", "b", "--soft", "2GB", "--hard", "1GB")]
    [TestCase("warm", "--prefix", "x", "--config", "a.yaml", "--mount", "/mnt/warpdrive")]
    [TestCase("warm", "--prefix", "x", "--config", "/nonexistent.yaml", "--workers", "0")]
    [TestCase("move", "--from", "a:x")]
    [TestCase("nonsense")]
    public async Task BadArgumentsExitWithTwo(params string[] args)
    {
        var result = await CtlProcess.RunAsync(args);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Stderr, Does.StartWith("warpdrive-ctl: "));
        });
    }

    [TestCase("usage")]
    [TestCase("stale")]
    [TestCase("quota", "list")]
    public async Task AnUnreachableServerExitsWithOneAndSaysSo(params string[] args)
    {
        var result = await CtlProcess.RunAsync([.. args, "--server", "http://127.0.0.1:1"]);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Stderr, Does.Contain("cannot reach the control plane at http://127.0.0.1:1").And.Contain("is it running?"));
        });
    }

    [Test]
    public async Task AMissingConfigFileIsAFailureNamingIt()
    {
        var result = await CtlProcess.RunAsync("warm", "--config", "/nonexistent/node.yaml", "--prefix", "x");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Stderr, Does.Contain("/nonexistent/node.yaml"));
        });
    }

    [Test]
    public async Task StatsOfADirectoryThatIsNoCacheFails()
    {
        var result = await CtlProcess.RunAsync("stats", "--cache-dir", Path.GetTempPath());
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Stderr, Does.Contain("is not a WarpDrive cache directory"));
        });
    }

    [Test]
    public async Task AnUnknownCommandIsOneLineThatListsTheCommands()
    {
        var result = await CtlProcess.RunAsync("bogus");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Stderr.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), result.ToString());
            Assert.That(result.Stderr, Does.Contain("unknown command 'bogus'").And.Contain("warm, stats, usage, stale, quota, status, move, serve"));
        });
    }

    [Test]
    public async Task HelpShowsTheFormatsInLowerCaseAsTheReadmeDoes()
    {
        var result = await CtlProcess.RunAsync("usage", "--help");
        Assert.Multiple(() =>
        {
            Assert.That(result.Stdout, Does.Contain("--format <table|json|csv>"), result.ToString());
            Assert.That(result.Stdout, Does.Not.Contain("Table").And.Not.Contain("Csv"), result.ToString());
        });
    }

    [Test]
    public async Task FormatIsCaseInsensitiveAndABadOneIsNamed()
    {
        var upper = await CtlProcess.RunAsync("status", "--agent", "http://127.0.0.1:1", "--server", "http://127.0.0.1:1", "--format", "JSON");
        var bad = await CtlProcess.RunAsync("usage", "--format", "xml");
        Assert.Multiple(() =>
        {
            Assert.That(upper.Stdout.TrimStart(), Does.StartWith("["), "JSON is json: " + upper);
            Assert.That(bad.Stderr, Does.Contain("--format must be table, json or csv, not 'xml'"), bad.ToString());
        });
    }

    [Test]
    public async Task WarmWithoutConfigReadsTheAgentsDefaultConfig()
    {
        Assume.That(File.Exists("/etc/warpdrive/config.yaml"), Is.False, "this machine has a real agent config");

        // The command line from the docs, as a user types it.
        var result = await CtlProcess.RunAsync("warm", "--backend", "training", "--prefix", "datasets/imagenet", "--workers", "64", "--max-size", "500GB");

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), "a missing file is a failure, not a usage error: " + result);
            Assert.That(result.Stderr, Does.Contain("/etc/warpdrive/config.yaml").And.Contain("--config").And.Contain("--mount"), result.ToString());
        });
    }

    /// <summary>Bad inputs of every kind; "{dir}" is a scratch directory holding broken files (see <see cref="BrokenFiles"/>).</summary>
    private static readonly string[][] BadInputs =
    [
        ["bogus"], [], ["quota"], ["quota", "set", "--team", "ml"], ["stale", "--days", "x"], ["stale", "--days", "-1"], ["usage", "--limit", "0"],
        ["usage", "--format", "XML"], ["warm", "--prefix", "x", "--workers", "many"], ["warm", "--prefix", "x", "--max-size", "5XB", "--config", "{dir}/none.yaml"],
        ["serve", "--crawl-interval", "banana"],
        ["usage", "--server", "http://127.0.0.1:1"], ["usage", "--server", "ftp://x"], ["usage", "--server", "not a url"],
        ["usage", "--server", "http://127.0.0.1:1", "--token-file", "{dir}/missing.token"], ["usage", "--server", "http://127.0.0.1:1", "--token-file", "{dir}"],
        ["quota", "set", "--team", "ml", "--hard", "1TB", "--server", "http://127.0.0.1:1"],
        ["stats", "--agent", "http://127.0.0.1:1"], ["stats", "--agent", "ftp://x"], ["stats", "--cache-dir", "{dir}/corrupt-cache"], ["stats", "--cache-dir", "{dir}/none"],
        ["stats", "--config", "{dir}/none.yaml"], ["stats", "--config", "{dir}/bad.yaml"],
        ["status", "--agent", "ftp://x", "--server", "http://127.0.0.1:1"],
        ["warm", "--config", "{dir}/bad.yaml", "--prefix", "x"], ["warm", "--config", "{dir}/none.yaml", "--prefix", "x"],
        ["warm", "--kube", "--backend", "x", "--prefix", "y"], ["warm", "--mount", "{dir}/none", "--prefix", "x"],
        ["move", "--from", "a:x", "--to", "b:y", "--config", "{dir}/bad.yaml"], ["move", "--from", "ax", "--to", "b:y", "--config", "{dir}/bad.yaml"],
        ["serve", "--tokens-file", "{dir}/bad-hex.yaml", "--database", "sqlite://{dir}/cp.db", "--listen", "127.0.0.1:0"],
        ["serve", "--tokens-file", "{dir}/bad-yaml.yaml", "--database", "sqlite://{dir}/cp.db", "--listen", "127.0.0.1:0"],
        ["serve", "--tokens-file", "{dir}/missing-token-file.yaml", "--database", "sqlite://{dir}/cp.db", "--listen", "127.0.0.1:0"],
        ["serve", "--tokens-file", "{dir}/not-a-list.yaml", "--database", "sqlite://{dir}/cp.db", "--listen", "127.0.0.1:0"],
        ["serve", "--tokens-file", "{dir}/bad-role.yaml", "--database", "sqlite://{dir}/cp.db", "--listen", "127.0.0.1:0"],
        ["serve", "--tokens-file", "{dir}/good.yaml", "--database", "mysql://x", "--listen", "127.0.0.1:0"],
        ["serve", "--tokens-file", "{dir}/good.yaml", "--database", "postgres://u:secret@127.0.0.1:1/db", "--listen", "127.0.0.1:0"],
        ["serve", "--tokens-file", "{dir}/good.yaml", "--database", "sqlite://{dir}/cp.db", "--listen", "127.0.0.1:99999"],
        ["serve", "--tokens-file", "{dir}/good.yaml", "--database", "sqlite://{dir}/cp.db", "--listen", "127.0.0.1:0", "--config", "{dir}/bad.yaml"],
        ["serve", "--tokens-file", "{dir}", "--database", "sqlite://{dir}/cp.db", "--listen", "127.0.0.1:0"],
    ];

    [TestCaseSource(nameof(BadInputs))]
    public async Task NoErrorShowsAnExceptionOrAStackTrace(string[] args)
    {
        using var files = new BrokenFiles();
        await using var ctl = CtlProcess.Start(args.Select(a => a.Replace("{dir}", files.Root, StringComparison.Ordinal)),
            environment: new Dictionary<string, string?> { ["KUBECONFIG"] = Path.Combine(files.Root, "no-kubeconfig") }); // never a real cluster
        var result = await ctl.WaitAsync();

        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1).Or.EqualTo(2), result.ToString());
            Assert.That(result.Stderr, Does.Not.Contain("Exception").And.Not.Contain("   at ").And.Not.Contain("Unhandled"), result.ToString());
            Assert.That(lines, Has.Length.LessThanOrEqualTo(1), "one line: " + result);
            Assert.That(result.Stderr + result.Stdout, Does.Not.Contain("secret"), "a password in a URL is never echoed: " + result);
        });
    }

    /// <summary>A scratch directory of broken inputs: configs, tokens files, a cache directory with a corrupt database.</summary>
    private sealed class BrokenFiles : IDisposable
    {
        public BrokenFiles()
        {
            File.WriteAllText(Path.Combine(Root, "bad.yaml"), "mount_point: [\n");
            File.WriteAllText(Path.Combine(Root, "bad-hex.yaml"), "- { token_sha256: zz, name: a, role: admin }\n");
            File.WriteAllText(Path.Combine(Root, "bad-yaml.yaml"), "- { token_sha256: \n  [\n");
            File.WriteAllText(Path.Combine(Root, "missing-token-file.yaml"), "- { token_file: nope.token, name: a, role: admin }\n");
            File.WriteAllText(Path.Combine(Root, "not-a-list.yaml"), "tokens: 1\n");
            File.WriteAllText(Path.Combine(Root, "bad-role.yaml"), "- { token_sha256: " + new string('a', 64) + ", name: a, role: root }\n");
            File.WriteAllText(Path.Combine(Root, "good.yaml"), "- { token_sha256: " + new string('a', 64) + ", name: a, role: admin }\n");
            Directory.CreateDirectory(Path.Combine(Root, "corrupt-cache", "meta"));
            File.WriteAllText(Path.Combine(Root, "corrupt-cache", "meta", "CURRENT"), "garbage\n");
        }

        public string Root { get; } = Directory.CreateTempSubdirectory("wd-ctl-bad-").FullName;

        public void Dispose() => Directory.Delete(Root, recursive: true);
    }
}
