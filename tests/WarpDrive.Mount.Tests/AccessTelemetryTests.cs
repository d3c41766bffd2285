using System.Text.Json;

namespace WarpDrive.Mount.Tests;

/// <summary>Reads through the mount become access events, with the reading user resolved from the caller's pid.</summary>
[NonParallelizable]
public sealed class AccessTelemetryTests
{
    [Test]
    public async Task AReadThroughTheMountIsRecordedWithBackendPathBytesAndUser()
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        await File.WriteAllBytesAsync(Path.Combine(source, "shard-0.tar"), new byte[300_000]);
        var events = Path.Combine(sandbox.Root, "access.jsonl");
        var yaml = $"""
            mount_point: "{sandbox.MountPoint}"
            cache:
              path: "{sandbox.CachePath}"
            metrics:
              enabled: false
            telemetry:
              enabled: true
              sink: file
              file_path: "{events}"
              flush_interval: 100ms
            backends:
              - name: data
                type: local
                config:
                  root: "{source}"
            """;
        await using (var agent = AgentProcess.Start(sandbox, yaml, sandbox.MountPoint))
        {
            await agent.WaitForMountAsync();
            Assert.That(await File.ReadAllBytesAsync(Path.Combine(sandbox.MountPoint, "data", "shard-0.tar")), Has.Length.EqualTo(300_000));
            agent.Signal(AgentProcess.SIGTERM); // a clean stop drains the queue to the sink
            Assert.That(await agent.WaitForExitAsync(), Is.Zero);
        }

        var recorded = File.ReadAllLines(events).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        var reads = recorded.Where(e => e.GetProperty("op").GetString() == "read").ToList();
        Assert.That(recorded.Any(e => e.GetProperty("op").GetString() == "open"), Is.True, "the open is recorded");
        Assert.That(reads, Is.Not.Empty, "reads are always recorded");
        Assert.Multiple(() =>
        {
            Assert.That(reads.Sum(e => e.GetProperty("bytes_read").GetInt64()), Is.EqualTo(300_000), "every byte read is counted");
            Assert.That(reads.Select(e => e.GetProperty("backend").GetString()).Distinct(), Is.EqualTo(new[] { "data" }));
            Assert.That(reads.Select(e => e.GetProperty("path").GetString()).Distinct(), Is.EqualTo(new[] { "shard-0.tar" }));
            Assert.That(reads.Select(e => e.GetProperty("user").GetString()).Distinct(), Is.EqualTo(new[] { "root" }), "uid 0 resolved through /etc/passwd");
        });
    }
}
