using WarpDrive.Config;

namespace WarpDrive.Telemetry.Tests;

/// <summary>The telemetry keys this project added to the node config (kept here, next to their only user).</summary>
public sealed class TelemetryConfigTests
{
    private const string Mount = "mount_point: /mnt/w\n";

    [Test]
    public void ReadsTheSinkKeys()
    {
        var config = ConfigLoader.LoadYaml(Mount + """
            telemetry:
              enabled: true
              sink: http
              queue_size: 500
              rollup: true
              file_path: /var/log/warpdrive/events.jsonl
              file_max_size: 10MB
              file_keep: 3
              http_url: http://control-plane:8090
              token_file: /var/run/secrets/warpdrive/token
            """);
        var t = config.Telemetry;
        Assert.Multiple(() =>
        {
            Assert.That((t.QueueSize, t.Rollup, t.FilePath, t.FileMaxSize, t.FileKeep), Is.EqualTo((500, true, "/var/log/warpdrive/events.jsonl", 10L << 20, 3)));
            Assert.That((t.HttpUrl, t.TokenFile), Is.EqualTo(("http://control-plane:8090", "/var/run/secrets/warpdrive/token")));
            Assert.That(config.Redacted(), Does.Contain("http_url: http://control-plane:8090"));
        });
    }

    [Test]
    public void DefaultsNeedNoSinkKeys()
    {
        var t = ConfigLoader.LoadYaml(Mount).Telemetry;
        Assert.That((t.QueueSize, t.Rollup, t.FilePath, t.FileMaxSize, t.FileKeep, t.HttpUrl, t.TokenFile), Is.EqualTo((65536, false, "", 100L << 20, 5, "", "")));
    }

    [TestCase("telemetry: { sink: file }", "telemetry.file_path", "is required")]
    [TestCase("telemetry: { sink: file, file_path: events.jsonl }", "telemetry.file_path", "absolute")]
    [TestCase("telemetry: { sink: http }", "telemetry.http_url", "is required when telemetry.sink is http")]
    [TestCase("telemetry: { sink: http, http_url: 'ftp://x' }", "telemetry.http_url", "not an http(s) URL")]
    [TestCase("telemetry: { token_file: token }", "telemetry.token_file", "absolute")]
    [TestCase("telemetry: { file_keep: 1001 }", "telemetry.file_keep", "0 to 1000")]
    [TestCase("telemetry: { file_max_size: 100 }", "telemetry.file_max_size", "at least 1KiB")]
    [TestCase("telemetry: { queue_size: 0 }", "telemetry.queue_size", "at least 1")]
    public void RejectsBadSinkKeys(string yaml, string key, string message)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(Mount + yaml + "\n"));
        Assert.That(error!.Message, Does.Contain(key).And.Contain(message));
    }

    [Test]
    public async Task TheFileSinkIsBuiltFromSettings()
    {
        using var dir = new TempDirectory();
        var settings = ConfigLoader.LoadYaml(Mount + $"telemetry: {{ enabled: true, sink: file, file_path: {dir.File("e.jsonl")}, batch_size: 2 }}\n").Telemetry;
        var recorder = TelemetryPipeline.Create(settings, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        recorder.Record(Events.Read("a"));
        await ((IAsyncDisposable)recorder).DisposeAsync();
        Assert.That(File.ReadAllLines(dir.File("e.jsonl")).Select(l => TelemetryJson.Deserialize(l).Path), Is.EqualTo(new[] { "a" }));
    }

    [Test]
    public void TheGrpcSinkNeedsAUrlWhenTelemetryStarts()
    {
        var settings = ConfigLoader.LoadYaml(Mount + "telemetry: { enabled: true, sink: grpc }\n").Telemetry;
        var error = Assert.Throws<ConfigException>(() => TelemetryPipeline.CreateSink(settings));
        Assert.That(error!.Message, Does.Contain("telemetry.http_url").And.Contain("grpc"));
    }

    [Test]
    public void DisabledTelemetryRecordsNothing() =>
        Assert.That(TelemetryPipeline.Create(new TelemetrySettings(), Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance), Is.SameAs(NullAccessRecorder.Instance));
}
