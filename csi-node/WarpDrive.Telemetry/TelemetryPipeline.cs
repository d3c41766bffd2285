using Microsoft.Extensions.Logging;
using WarpDrive.Config;
using WarpDrive.Telemetry.Identity;
using WarpDrive.Telemetry.Sinks;

namespace WarpDrive.Telemetry;

/// <summary>Builds the node's recorder from <c>telemetry:</c> settings: the node host's one call.</summary>
public static class TelemetryPipeline
{
    /// <summary>
    /// The recorder for <paramref name="settings"/>: <see cref="NullAccessRecorder"/> when telemetry is disabled,
    /// otherwise an <see cref="AccessRecorder"/> over the configured sink that resolves callers through
    /// /proc/&lt;pid&gt;/cgroup and <paramref name="pods"/> (Kubernetes) or /etc/passwd (standalone).
    /// The caller disposes the result when it is an <see cref="IAsyncDisposable"/>.
    /// </summary>
    public static IAccessRecorder Create(TelemetrySettings settings, ILoggerFactory loggers, IPodResolver? pods = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(loggers);
        if (!settings.Enabled)
        {
            return NullAccessRecorder.Instance;
        }

        var options = new AccessRecorderOptions
        {
            QueueSize = settings.QueueSize,
            BatchSize = settings.BatchSize,
            FlushInterval = settings.FlushInterval,
            SampleMetadataOps = settings.SampleMetadataOps,
            Rollup = settings.Rollup,
        };
        return new AccessRecorder(CreateSink(settings), options, loggers.CreateLogger("WarpDrive.Telemetry"), new CallerResolver(new PasswdUserNames(), pods));
    }

    public static ITelemetrySink CreateSink(TelemetrySettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return settings.Sink switch
        {
            TelemetrySinks.Stdout => new StdoutSink(),
            TelemetrySinks.File => new FileSink(settings.FilePath, settings.FileMaxSize, settings.FileKeep),
            TelemetrySinks.Http => new HttpSink(new HttpSinkOptions(new Uri(settings.HttpUrl)) { TokenFile = settings.TokenFile.Length > 0 ? settings.TokenFile : null }),
            TelemetrySinks.Nop => new NopSink(),
            TelemetrySinks.Grpc => settings.HttpUrl.Length == 0
                ? throw new ConfigException("telemetry.http_url", "is required when telemetry.sink is grpc (e.g. http://warpdrive-control-plane:8090)")
                : new GrpcSink(new HttpSinkOptions(new Uri(settings.HttpUrl)) { TokenFile = settings.TokenFile.Length > 0 ? settings.TokenFile : null }),
            _ => throw new ArgumentException($"unknown telemetry sink '{settings.Sink}'", nameof(settings)),
        };
    }
}
