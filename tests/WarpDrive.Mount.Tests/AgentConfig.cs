using System.Text;

namespace WarpDrive.Mount.Tests;

/// <summary>A local backend of the agent under test.</summary>
public sealed record LocalBackend(string Name, string MountPath, string Root);

/// <summary>Writes the YAML configuration of one agent under test; only the keys the tests vary.</summary>
public sealed record AgentConfig
{
    public required string MountPoint { get; init; }

    public required string CachePath { get; init; }

    public required IReadOnlyList<LocalBackend> Backends { get; init; }

    public string EntryTtl { get; init; } = "30s";

    public string AttrTtl { get; init; } = "30s";

    public string StatTtl { get; init; } = "5s";

    /// <summary>Overrides the type of every backend, to try values the agent must refuse.</summary>
    public string BackendType { get; init; } = "local";

    /// <summary><c>metrics.addr</c>; null leaves metrics off.</summary>
    public string? MetricsAddr { get; init; }

    /// <summary><c>fuse.dir_cache_ttl</c>; null leaves the default.</summary>
    public string? DirCacheTtl { get; init; }

    /// <summary><c>cache.max_size</c>; null leaves the default.</summary>
    public string? CacheMaxSize { get; init; }

    /// <summary>Extra lines under each backend's <c>config:</c> (already indented by the caller's six spaces).</summary>
    public IReadOnlyList<string> ExtraBackendConfig { get; init; } = [];

    public static AgentConfig ForSandbox(TestSandbox sandbox, params LocalBackend[] backends) => new()
    {
        MountPoint = sandbox.MountPoint,
        CachePath = sandbox.CachePath,
        Backends = backends,
    };

    public string ToYaml()
    {
        var yaml = new StringBuilder()
            .AppendLine($"mount_point: {Quote(MountPoint)}")
            .AppendLine("fuse:")
            .AppendLine($"  entry_ttl: {EntryTtl}")
            .AppendLine($"  attr_ttl: {AttrTtl}");
        if (DirCacheTtl is not null)
        {
            yaml.AppendLine($"  dir_cache_ttl: {DirCacheTtl}");
        }

        yaml.AppendLine("cache:")
            .AppendLine($"  path: {Quote(CachePath)}")
            .AppendLine($"  stat_ttl: {StatTtl}");
        if (CacheMaxSize is not null)
        {
            yaml.AppendLine($"  max_size: {CacheMaxSize}");
        }

        yaml.AppendLine("metrics:")
            .AppendLine(MetricsAddr is null ? "  enabled: false" : $"  addr: {Quote(MetricsAddr)}")
            .AppendLine("backends:");
        foreach (var backend in Backends)
        {
            yaml.AppendLine($"  - name: {backend.Name}")
                .AppendLine($"    type: {BackendType}")
                .AppendLine($"    mount_path: {Quote(backend.MountPath)}")
                .AppendLine("    config:")
                .AppendLine($"      root: {Quote(backend.Root)}");
            foreach (var line in ExtraBackendConfig)
            {
                yaml.AppendLine("      " + line);
            }
        }

        return yaml.ToString();
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
