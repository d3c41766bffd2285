using System.Globalization;
using System.Text;

namespace WarpDrive.Config;

/// <summary>
/// The whole configuration of one node agent, as loaded from YAML by <see cref="ConfigLoader"/>.
/// Defaults live here, on the properties, so code that builds a config by hand gets the same defaults as an
/// almost-empty file. Immutable once built.
/// </summary>
public sealed class NodeConfig
{
    /// <summary>Absolute path the FUSE file system is mounted on. Required.</summary>
    public string MountPoint { get; init; } = "";

    /// <summary>Mount with <c>allow_other</c> so users other than the mounting one can read the tree.</summary>
    public bool AllowOther { get; init; }

    /// <summary>Log every FUSE request and reply (very verbose).</summary>
    public bool FuseDebug { get; init; }

    public FuseSettings Fuse { get; init; } = new();

    public CacheSettings Cache { get; init; } = new();

    /// <summary>The storage backends, each shown as a directory below the mount point.</summary>
    public IReadOnlyList<BackendConfig> Backends { get; init; } = [];

    public MetricsSettings Metrics { get; init; } = new();

    public TelemetrySettings Telemetry { get; init; } = new();

    public ControlPlaneSettings ControlPlane { get; init; } = new();

    /// <summary>
    /// A multi-line summary that is safe to log: auth settings show their key names only, never their values.
    /// </summary>
    public string Redacted()
    {
        var text = new StringBuilder();
        Line(text, 0, $"mount_point: {MountPoint}");
        Line(text, 0, $"allow_other: {Bool(AllowOther)}");
        Line(text, 0, $"fuse_debug: {Bool(FuseDebug)}");
        Line(text, 0, "fuse:");
        Line(text, 1, $"workers: {Fuse.Workers}, max_background: {Fuse.MaxBackground}, mount_helper: {Fuse.MountHelper}");
        Line(text, 1, $"entry_ttl: {Duration.Format(Fuse.EntryTtl)}, attr_ttl: {Duration.Format(Fuse.AttrTtl)}, negative_ttl: {Duration.Format(Fuse.NegativeTtl)}");
        Line(text, 1, $"dir_cache_entries: {Fuse.DirCacheEntries}, dir_cache_ttl: {Duration.Format(Fuse.DirCacheTtl)}");
        Line(text, 0, "cache:");
        Line(text, 1, $"enabled: {Bool(Cache.Enabled)}, path: {Cache.Path}, passthrough: {Cache.Passthrough}");
        Line(text, 1, $"max_size: {ByteSize.Format(Cache.MaxSize)}, block_size: {ByteSize.Format(Cache.BlockSize)}");
        Line(text, 1, $"readahead_blocks: {Cache.ReadaheadBlocks}, max_parallel_fetch: {Cache.MaxParallelFetch}, stat_ttl: {Duration.Format(Cache.StatTtl)}");
        Line(text, 1, $"evict_high_water: {Number(Cache.EvictHighWater)}, evict_low_water: {Number(Cache.EvictLowWater)}");
        Line(text, 0, "backends:");
        foreach (var backend in Backends)
        {
            Line(text, 1, $"- name: {backend.Name}, type: {backend.Type}, mount_path: {backend.MountPath}");
            var config = string.Join(", ", backend.Config.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}: {e.Value}"));
            Line(text, 2, $"config: {{{config}}}");
            // Only the key names of auth settings: even reference values (variable names, file paths) stay out of logs.
            var authKeys = string.Join(", ", backend.Auth.Settings.Keys.Order(StringComparer.Ordinal));
            Line(text, 2, $"auth: method {backend.Auth.Method}, settings [{authKeys}]");
            if (backend.Namespace.Length > 0 || backend.AllowedNamespaces.Count > 0)
            {
                Line(text, 2, $"namespace: {backend.Namespace}, allowed_namespaces: [{string.Join(", ", backend.AllowedNamespaces)}]");
            }
        }

        Line(text, 0, "metrics:");
        Line(text, 1, $"enabled: {Bool(Metrics.Enabled)}, addr: {Metrics.Addr}");
        Line(text, 0, "telemetry:");
        Line(text, 1, $"enabled: {Bool(Telemetry.Enabled)}, sink: {Telemetry.Sink}, sample_metadata_ops: {Number(Telemetry.SampleMetadataOps)}, rollup: {Bool(Telemetry.Rollup)}");
        Line(text, 1, $"batch_size: {Telemetry.BatchSize}, flush_interval: {Duration.Format(Telemetry.FlushInterval)}, queue_size: {Telemetry.QueueSize}");
        // Only the settings of the sink in use: empty paths and URLs of other sinks are noise.
        if (Telemetry.Sink == TelemetrySinks.File || Telemetry.FilePath.Length > 0)
        {
            Line(text, 1, $"file_path: {Telemetry.FilePath}, file_max_size: {ByteSize.Format(Telemetry.FileMaxSize)}, file_keep: {Telemetry.FileKeep}");
        }

        if (Telemetry.HttpUrl.Length > 0 || Telemetry.TokenFile.Length > 0)
        {
            Line(text, 1, $"http_url: {Telemetry.HttpUrl}, token_file: {Telemetry.TokenFile}");
        }

        Line(text, 0, "control_plane:");
        Line(text, 1, $"rest_addr: {ControlPlane.RestAddr}, storage_crawl_interval: {Duration.Format(ControlPlane.StorageCrawlInterval)}");
        return text.ToString();
    }

    /// <inheritdoc cref="Redacted"/>
    public override string ToString() => Redacted();

    private static void Line(StringBuilder text, int depth, string line) =>
        text.Append(' ', depth * 2).Append(line).Append('\n');

    private static string Bool(bool value) => value ? "true" : "false";

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);
}
