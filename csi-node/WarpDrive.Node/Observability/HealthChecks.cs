using System.Text.Json;
using WarpDrive.Cache;

namespace WarpDrive.Node.Observability;

/// <summary>One named check behind /healthz. Implementations are cheap and never throw.</summary>
public interface IHealthCheck
{
    string Name { get; }

    /// <summary>Null when healthy, else what is wrong.</summary>
    string? Problem();
}

/// <summary>Every FUSE mount the agent serves is still in <c>/proc/self/mounts</c>.</summary>
public sealed class FuseMountCheck(Func<IReadOnlyList<string>> mountPoints) : IHealthCheck
{
    public string Name => "fuse_mount";

    public string? Problem()
    {
        var missing = mountPoints().Where(m => !WarpDrive.Fuse.FuseMounter.IsMounted(m)).ToList();
        return missing.Count == 0 ? null : $"not mounted: {string.Join(", ", missing)}";
    }
}

/// <summary>
/// The block cache's RocksDB metadata store is open: the cache has not been closed and the database's LOCK file,
/// which RocksDB holds for as long as the database is open, is in place.
/// </summary>
public sealed class CacheDbCheck(Func<IContentSource?> content, string cachePath, Func<bool> closed) : IHealthCheck
{
    public string Name => "cache_db";

    public string? Problem()
    {
        if (content() is not BlockCache)
        {
            return null; // cache disabled: nothing to check
        }

        if (closed())
        {
            return "the block cache is closed";
        }

        var lockFile = Directory.EnumerateFiles(cachePath, "LOCK", SearchOption.AllDirectories).FirstOrDefault();
        return lockFile is null ? $"no RocksDB LOCK file below {cachePath}" : null;
    }
}

/// <summary>Runs every check: 200 with status ok, or 503 with status degraded and each failing check's problem.</summary>
public sealed class HealthReport(IReadOnlyList<IHealthCheck> checks)
{
    public (int StatusCode, string Json) Run()
    {
        var results = checks.ToDictionary(c => c.Name, c => SafeProblem(c));
        var healthy = results.Values.All(p => p is null);
        var body = new
        {
            status = healthy ? "ok" : "degraded",
            checks = results.ToDictionary(r => r.Key, r => r.Value is null ? new { status = "ok", error = (string?)null } : new { status = "fail", error = (string?)r.Value }),
        };
        return (healthy ? 200 : 503, JsonSerializer.Serialize(body));
    }

    private static string? SafeProblem(IHealthCheck check)
    {
        try
        {
            return check.Problem();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return e.Message;
        }
    }
}
