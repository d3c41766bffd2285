using WarpDrive.Telemetry.Sinks;

namespace WarpDrive.Telemetry.Tests;

public sealed class FileSinkTests
{
    [Test]
    public async Task RotatesBySizeAndKeepsTheNewestFiles()
    {
        using var dir = new TempDirectory();
        var path = dir.File("events.jsonl");
        var sink = new FileSink(path, maxBytes: 2048, keep: 2);
        var written = 0;
        for (var batch = 0; batch < 40; batch++)
        {
            var events = Enumerable.Range(0, 3).Select(_ => Events.Read($"file-{written++:D4}")).ToList();
            await sink.WriteAsync(events, CancellationToken.None);
        }

        await sink.DisposeAsync();

        var files = Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order().ToList();
        var current = File.ReadAllLines(path).Select(TelemetryJson.Deserialize).ToList();
        var previous = File.ReadAllLines(path + ".1").Select(TelemetryJson.Deserialize).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(files, Is.EqualTo(new[] { "events.jsonl", "events.jsonl.1", "events.jsonl.2" }));
            Assert.That(files.Select(f => new FileInfo(dir.File(f!)).Length), Has.All.LessThanOrEqualTo(2048));
            Assert.That(current[^1].Path, Is.EqualTo($"file-{written - 1:D4}"), "the newest event is in the current file");
            Assert.That(previous[^1].Path, Is.EqualTo($"file-{int.Parse(current[0].Path[5..]) - 1:D4}"), "rotation lost nothing between .1 and the current file");
        });
    }

    [Test]
    public async Task LinesUseTheContractNames()
    {
        using var dir = new TempDirectory();
        var path = dir.File("e.jsonl");
        await using (var sink = new FileSink(path, 1 << 20, 1))
        {
            await sink.WriteAsync([Events.Read("train/a.tar", 123) with { Namespace = "ml", Pod = "p-0", ServiceAccount = "trainer" }], CancellationToken.None);
        }

        var line = File.ReadAllText(path).Trim();
        foreach (var name in new[] { "\"ts\":", "\"node\":\"node-1\"", "\"user\":\"alice\"", "\"namespace\":\"ml\"", "\"pod\":\"p-0\"", "\"service_account\":\"trainer\"",
                     "\"backend\":\"datasets\"", "\"path\":\"train/a.tar\"", "\"op\":\"read\"", "\"bytes_read\":123", "\"cache_hit\":true", "\"latency_ms\":2", "\"count\":1" })
        {
            Assert.That(line, Does.Contain(name));
        }

        Assert.That(line, Does.Not.Contain("caller"), "pid and uid stay on the node");
    }
}
