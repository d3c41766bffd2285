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
        var yaml = AgentYaml(sandbox, source, events);
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

    [Test]
    public async Task ReadsSayWhetherTheNodeCacheServedThemAndMetadataOpsAreSampled()
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        await File.WriteAllBytesAsync(Path.Combine(source, "shard-0.tar"), new byte[300_000]);
        var events = Path.Combine(sandbox.Root, "access.jsonl");
        var yaml = AgentYaml(sandbox, source, events, cacheSettings: "passthrough: \"off\"", telemetrySettings: "sample_metadata_ops: 1");
        var file = Path.Combine(sandbox.MountPoint, "data", "shard-0.tar");
        await using (var agent = AgentProcess.Start(sandbox, yaml, sandbox.MountPoint))
        {
            await agent.WaitForMountAsync();
            Assert.That(Directory.GetFiles(Path.Combine(sandbox.MountPoint, "data")), Has.Length.EqualTo(1));
            Assert.That(await File.ReadAllBytesAsync(file), Has.Length.EqualTo(300_000));
            var firstPass = await WaitForReadBytesAsync(events, 300_000);
            // Forget the kernel's copy so the second read reaches the agent again, this time served from its cache.
            File.WriteAllText("/proc/sys/vm/drop_caches", "3");
            Assert.That(await File.ReadAllBytesAsync(file), Has.Length.EqualTo(300_000));
            agent.Signal(AgentProcess.SIGTERM);
            Assert.That(await agent.WaitForExitAsync(), Is.Zero);

            var recorded = Events(events);
            var first = Reads(recorded.Take(firstPass));
            var second = Reads(recorded.Skip(firstPass));
            Assert.Multiple(() =>
            {
                Assert.That(first.Where(e => !e.GetProperty("cache_hit").GetBoolean()).Sum(BytesRead), Is.Positive,
                    "the first pass fetched the file's one block");
                Assert.That(second.Sum(BytesRead), Is.EqualTo(300_000));
                Assert.That(second.Select(e => e.GetProperty("cache_hit").GetBoolean()), Is.All.True, "the second pass came from the node cache");
                Assert.That(recorded.Any(e => e.GetProperty("op").GetString() == "list"), Is.True, "a listing is recorded at sample_metadata_ops: 1");
                Assert.That(recorded.Any(e => e.GetProperty("op").GetString() == "stat" && e.GetProperty("path").GetString() == "shard-0.tar"), Is.True,
                    "a lookup is recorded at sample_metadata_ops: 1");
            });
        }
    }

    /// <summary>An agent over one local backend named data, recording to a JSONL file; extra keys go into cache: and telemetry:.</summary>
    private static string AgentYaml(TestSandbox sandbox, string source, string events, string cacheSettings = "", string telemetrySettings = "") => $"""
        mount_point: "{sandbox.MountPoint}"
        cache:
          path: "{sandbox.CachePath}"
          {cacheSettings}
        metrics:
          enabled: false
        telemetry:
          enabled: true
          sink: file
          file_path: "{events}"
          flush_interval: 100ms
          {telemetrySettings}
        backends:
          - name: data
            type: local
            config:
              root: "{source}"
              # Through the block cache: these tests are about what the cache served (a local disk is otherwise in place).
              serve_in_place: false
        """;

    private static List<JsonElement> Events(string file) =>
        File.Exists(file) ? [.. File.ReadAllLines(file).Select(line => JsonDocument.Parse(line).RootElement)] : [];

    private static List<JsonElement> Reads(IEnumerable<JsonElement> events) => [.. events.Where(e => e.GetProperty("op").GetString() == "read")];

    private static long BytesRead(JsonElement e) => e.GetProperty("bytes_read").GetInt64();

    /// <summary>Waits (bounded) until the sink holds reads of <paramref name="bytes"/> bytes; returns its event count then.</summary>
    private static async Task<int> WaitForReadBytesAsync(string file, long bytes)
    {
        for (var i = 0; i < 200; i++)
        {
            var events = Events(file);
            if (Reads(events).Sum(BytesRead) >= bytes)
            {
                return events.Count;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"the sink did not receive reads of {bytes} bytes within 10 s");
        return 0;
    }
}
