namespace WarpDrive.Config;

/// <summary>YAML <c>metrics:</c> — the Prometheus endpoint.</summary>
public sealed class MetricsSettings
{
    public bool Enabled { get; init; } = true;

    /// <summary>Listen address <c>[host]:port</c>; an empty host means every interface.</summary>
    public string Addr { get; init; } = ":9090";
}

/// <summary>YAML <c>telemetry:</c> — access events for the control plane.</summary>
public sealed class TelemetrySettings
{
    public bool Enabled { get; init; }

    /// <summary>One of <see cref="TelemetrySinks.All"/>.</summary>
    public string Sink { get; init; } = TelemetrySinks.Nop;

    /// <summary>Fraction of metadata operations (lookup, getattr, readdir) recorded, in [0, 1].</summary>
    public double SampleMetadataOps { get; init; } = 0.1;

    /// <summary>Events per batch sent to the sink (at least 1).</summary>
    public int BatchSize { get; init; } = 100;

    /// <summary>Longest time an event waits before its batch is sent (positive).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Events waiting for the sink (at least 1); when full, new events are dropped and counted, never waited for.</summary>
    public int QueueSize { get; init; } = 65536;

    /// <summary>Sum events per (user, backend, path, op) per minute on the node before sending (count &gt; 1).</summary>
    public bool Rollup { get; init; }

    /// <summary>File sink: the JSONL file (absolute); required when <c>sink: file</c>.</summary>
    public string FilePath { get; init; } = "";

    /// <summary>File sink: size at which the file is rotated (at least 1KiB).</summary>
    public long FileMaxSize { get; init; } = 100 * ByteSize.MiB;

    /// <summary>File sink: rotated files kept besides the current one (0 to 1000).</summary>
    public int FileKeep { get; init; } = 5;

    /// <summary>HTTP and gRPC sinks: the control plane's base URL (http or https); required with those sinks.</summary>
    public string HttpUrl { get; init; } = "";

    /// <summary>HTTP sink: file holding the bearer token (absolute), re-read for every batch so rotation needs no restart. Empty: no token.</summary>
    public string TokenFile { get; init; } = "";
}

/// <summary>Values of <c>telemetry.sink</c>.</summary>
public static class TelemetrySinks
{
    public const string Stdout = "stdout";
    public const string File = "file";
    public const string Http = "http";
    public const string Grpc = "grpc";
    public const string Nop = "nop";

    public static IReadOnlyList<string> All { get; } = [Stdout, File, Http, Grpc, Nop];
}

/// <summary>YAML <c>control_plane:</c> — the node's REST endpoint and background crawl.</summary>
public sealed class ControlPlaneSettings
{
    /// <summary>Listen address <c>[host]:port</c> of the REST API.</summary>
    public string RestAddr { get; init; } = ":8090";

    /// <summary>How often the storage crawl runs (positive).</summary>
    public TimeSpan StorageCrawlInterval { get; init; } = TimeSpan.FromHours(24);
}
