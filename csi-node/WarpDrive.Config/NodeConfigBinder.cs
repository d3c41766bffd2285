using YamlDotNet.RepresentationModel;

namespace WarpDrive.Config;

/// <summary>
/// Turns the YAML tree into a <see cref="NodeConfig"/>: one method per section, defaults taken from a fresh
/// settings object so they are written down only once (on the model). Checks shape and types only; the rules
/// between values are <see cref="NodeConfigValidator"/>'s job.
/// </summary>
internal static class NodeConfigBinder
{
    public static NodeConfig Bind(YamlMap root)
    {
        var defaults = new NodeConfig();
        var config = new NodeConfig
        {
            MountPoint = root.String("mount_point", defaults.MountPoint),
            AllowOther = root.Bool("allow_other", defaults.AllowOther),
            FuseDebug = root.Bool("fuse_debug", defaults.FuseDebug),
            Fuse = BindFuse(root.Map("fuse")),
            Cache = BindCache(root.Map("cache")),
            Backends = BindBackends(root),
            Metrics = BindMetrics(root.Map("metrics")),
            Telemetry = BindTelemetry(root.Map("telemetry")),
            ControlPlane = BindControlPlane(root.Map("control_plane")),
        };
        root.RejectUnknownKeys();
        return config;
    }

    private static FuseSettings BindFuse(YamlMap map)
    {
        var d = new FuseSettings();
        var fuse = new FuseSettings
        {
            Workers = map.Int("workers", d.Workers),
            EntryTtl = map.Duration("entry_ttl", d.EntryTtl),
            AttrTtl = map.Duration("attr_ttl", d.AttrTtl),
            NegativeTtl = map.Duration("negative_ttl", d.NegativeTtl),
            DirCacheEntries = map.Int("dir_cache_entries", d.DirCacheEntries),
            DirCacheTtl = map.Duration("dir_cache_ttl", d.DirCacheTtl),
            MaxBackground = map.Int("max_background", d.MaxBackground),
            MountHelper = map.String("mount_helper", d.MountHelper),
        };
        map.RejectUnknownKeys();
        return fuse;
    }

    private static CacheSettings BindCache(YamlMap map)
    {
        var d = new CacheSettings();
        var cache = new CacheSettings
        {
            Enabled = map.Bool("enabled", d.Enabled),
            Path = map.String("path", d.Path),
            MaxSize = map.Size("max_size", d.MaxSize),
            BlockSize = map.Size("block_size", d.BlockSize),
            ReadaheadBlocks = map.Int("readahead_blocks", d.ReadaheadBlocks),
            MaxParallelFetch = map.Int("max_parallel_fetch", d.MaxParallelFetch),
            EvictHighWater = map.Double("evict_high_water", d.EvictHighWater),
            EvictLowWater = map.Double("evict_low_water", d.EvictLowWater),
            StatTtl = map.Duration("stat_ttl", d.StatTtl),
            Passthrough = map.String("passthrough", d.Passthrough),
        };
        map.RejectUnknownKeys();
        return cache;
    }

    private static List<BackendConfig> BindBackends(YamlMap root)
    {
        var backends = new List<BackendConfig>();
        var items = root.Sequence("backends");
        for (var i = 0; i < items.Count; i++)
        {
            backends.Add(BindBackend(root.Fork(items[i], $"backends[{i}]")));
        }

        return backends;
    }

    private static BackendConfig BindBackend(YamlMap map)
    {
        var name = map.String("name", "");
        var mountPath = map.Scalar("mount_path");
        var backend = new BackendConfig
        {
            Name = name,
            Type = map.String("type", ""),
            MountPath = MountPaths.Normalize(mountPath ?? "/" + name),
            Config = map.Map("config").RemainingScalars(),
            Auth = BindAuth(map.Map("auth")),
            Namespace = map.String("namespace", ""),
            AllowedNamespaces = map.StringList("allowed_namespaces"),
        };
        map.RejectUnknownKeys();
        return backend;
    }

    private static AuthConfig BindAuth(YamlMap map) =>
        new()
        {
            Method = map.String("method", AuthMethods.None),
            Source = map.String("source", AuthSources.Node),
            Settings = map.RemainingScalars(),
        };

    private static MetricsSettings BindMetrics(YamlMap map)
    {
        var d = new MetricsSettings();
        var metrics = new MetricsSettings
        {
            Enabled = map.Bool("enabled", d.Enabled),
            Addr = map.String("addr", d.Addr),
        };
        map.RejectUnknownKeys();
        return metrics;
    }

    private static TelemetrySettings BindTelemetry(YamlMap map)
    {
        var d = new TelemetrySettings();
        var telemetry = new TelemetrySettings
        {
            Enabled = map.Bool("enabled", d.Enabled),
            Sink = map.String("sink", d.Sink),
            SampleMetadataOps = map.Double("sample_metadata_ops", d.SampleMetadataOps),
            BatchSize = map.Int("batch_size", d.BatchSize),
            FlushInterval = map.Duration("flush_interval", d.FlushInterval),
            QueueSize = map.Int("queue_size", d.QueueSize),
            Rollup = map.Bool("rollup", d.Rollup),
            FilePath = map.String("file_path", d.FilePath),
            FileMaxSize = map.Size("file_max_size", d.FileMaxSize),
            FileKeep = map.Int("file_keep", d.FileKeep),
            HttpUrl = map.String("http_url", d.HttpUrl),
            TokenFile = map.String("token_file", d.TokenFile),
        };
        map.RejectUnknownKeys();
        return telemetry;
    }

    private static ControlPlaneSettings BindControlPlane(YamlMap map)
    {
        var d = new ControlPlaneSettings();
        var controlPlane = new ControlPlaneSettings
        {
            RestAddr = map.String("rest_addr", d.RestAddr),
            StorageCrawlInterval = map.Duration("storage_crawl_interval", d.StorageCrawlInterval),
        };
        map.RejectUnknownKeys();
        return controlPlane;
    }
}
