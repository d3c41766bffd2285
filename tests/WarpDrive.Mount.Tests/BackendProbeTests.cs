namespace WarpDrive.Mount.Tests;

/// <summary>
/// Right after mounting, the agent tries each backend once (list, then one byte of the first object), so a backend
/// that cannot be used is named in the log at start rather than at a reader's first open.
/// </summary>
[NonParallelizable]
public sealed class BackendProbeTests
{
    private const string KeyVariable = "WARPDRIVE_MOUNT_TEST_PROBE_KEY";

    [Test]
    public async Task AUsableBackendIsReportedReachableAndAnUnreachableOneIsNamedInAWarning()
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        Directory.CreateDirectory(Path.Combine(source, "train"));
        await File.WriteAllBytesAsync(Path.Combine(source, "train", "shard-0.tar"), new byte[4096]);
        Environment.SetEnvironmentVariable(KeyVariable, "not-a-real-key"); // the agent inherits it
        var yaml = $"""
            mount_point: "{sandbox.MountPoint}"
            cache:
              path: "{sandbox.CachePath}"
            metrics:
              enabled: false
            backends:
              - name: data
                type: local
                config:
                  root: "{source}"
              - name: nowhere
                type: s3
                config:
                  bucket: missing
                  endpoint: "http://127.0.0.1:1"
                  path_style: true
                  timeout: 2s
                auth:
                  method: static
                  access_key_env: {KeyVariable}
                  secret_key_env: {KeyVariable}
            """;
        try
        {
            await using var agent = AgentProcess.Start(sandbox, yaml, sandbox.MountPoint);
            await agent.WaitForMountAsync();
            await WaitForAsync(agent, "backend nowhere ");

            Assert.Multiple(() =>
            {
                Assert.That(agent.Stderr, Does.Contain("backend data reachable: listed and read train/shard-0.tar"));
                Assert.That(agent.Stderr, Does.Match("backend nowhere (is not usable yet|did not answer within)"));
                Assert.That(agent.Stderr, Does.Not.Contain("not-a-real-key"));
                Assert.That(File.Exists(Path.Combine(sandbox.MountPoint, "data", "train", "shard-0.tar")), Is.True, "the mount serves the good backend meanwhile");
            });
        }
        finally
        {
            Environment.SetEnvironmentVariable(KeyVariable, null);
        }
    }

    private static async Task WaitForAsync(AgentProcess agent, string text)
    {
        for (var i = 0; i < 600 && !agent.Stderr.Contains(text, StringComparison.Ordinal); i++)
        {
            await Task.Delay(100);
        }
    }
}
