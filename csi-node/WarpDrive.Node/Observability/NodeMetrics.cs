using System.Diagnostics.Metrics;
using WarpDrive.Auth;
using WarpDrive.Cache;
using WarpDrive.Config;

namespace WarpDrive.Node.Observability;

/// <summary>
/// The node host's instruments, on the "WarpDrive.Node" meter (the FUSE layer has its own, "WarpDrive.Fuse").
/// Names are chosen so the Prometheus exporter's suffixes (_total for counters, the unit for "By", "s" and "1")
/// give exactly the documented scrape names, e.g. <c>warpdrive_cache_hit</c> → <c>warpdrive_cache_hit_total</c>,
/// <c>warpdrive_cache_size</c> (By) → <c>warpdrive_cache_size_bytes</c>. This exporter adds no suffix for unit "1", so the ratio carries <c>_ratio</c> in its name.
/// </summary>
public sealed class NodeMetrics : IDisposable
{
    public const string MeterName = "WarpDrive.Node";

    private readonly Meter _meter = new(MeterName);
    public NodeMetrics(Func<CacheStats?> cache)
    {
        Cache = cache;
        _meter.CreateObservableCounter("warpdrive_cache_hit", () => Read(s => s.Hits), description: "Block reads served from the cache.");
        _meter.CreateObservableCounter("warpdrive_cache_miss", () => Read(s => s.Misses), description: "Block reads fetched from a backend.");
        _meter.CreateObservableCounter("warpdrive_cache_evictions", () => Read(s => s.Evictions), description: "Blocks evicted.");
        _meter.CreateObservableGauge("warpdrive_cache_size", () => Read(s => s.SizeBytes), unit: "By", description: "Bytes held in the cache.");
        _meter.CreateObservableGauge("warpdrive_cache_utilization_ratio", () => Cache()?.Utilisation ?? 0, description: "Cached bytes as a fraction of the maximum size.");
        _meter.CreateObservableCounter("warpdrive_cache_corrupt_blocks", () => Read(s => s.ChecksumFailures), description: "Cached blocks whose bytes no longer matched their checksums: dropped and refetched, never served.");
        _meter.CreateObservableCounter("warpdrive_readahead_hit", () => Read(s => s.ReadaheadHits), description: "Prefetched blocks that were then read.");
        _meter.CreateObservableCounter("warpdrive_readahead_wasted", () => Read(s => s.ReadaheadWasted), description: "Prefetched blocks evicted unread.");
        BackendRequestDuration = _meter.CreateHistogram<double>("warpdrive_backend_request_duration", unit: "s", description: "Backend request latency, by backend and operation.");
        BackendErrors = _meter.CreateCounter<long>("warpdrive_backend_errors", description: "Failed backend requests, by backend and error type.");
        BackendBytesRead = _meter.CreateCounter<long>("warpdrive_backend_bytes_read", description: "Bytes read from backends.");

        // Observable over the process's auth audit, with a zero per provider so the series exist before the first
        // refresh and whatever MeterProvider starts listening later (the HTTP listener may start after this) sees them.
        _meter.CreateObservableCounter("warpdrive_auth_refresh", ObserveAuthRefreshes, description: "Credential refreshes, by provider and status.");
        _meter.CreateObservableCounter("warpdrive_auth_access_refused", ObserveRefusals,
            description: "Reads refused to a pod's own identity (auth.source: pod), by backend: EACCES, even for cached bytes.");
    }

    /// <summary>Where cache counters come from (null when there is no block cache yet, or none at all).</summary>
    public Func<CacheStats?> Cache { get; set; }

    public Histogram<double> BackendRequestDuration { get; }

    public Counter<long> BackendErrors { get; }

    public Counter<long> BackendBytesRead { get; }

    public void Dispose() => _meter.Dispose();

    private static IEnumerable<Measurement<long>> ObserveAuthRefreshes()
    {
        var totals = AuthAudit.Shared.RefreshTotals();
        var seeded = AuthMethods.All.Where(m => m != AuthMethods.None).Select(m => (m, "success")).Where(key => !totals.ContainsKey(key));
        return totals.Select(e => Measurement(e.Value, e.Key.Provider, e.Key.Status)).Concat(seeded.Select(key => Measurement(0, key.Item1, key.Item2)));

        static Measurement<long> Measurement(long value, string provider, string status) =>
            new(value, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("status", status));
    }

    private static IEnumerable<Measurement<long>> ObserveRefusals() =>
        AuthAudit.Shared.RefusalTotals().Select(e => new Measurement<long>(e.Value, new KeyValuePair<string, object?>("backend", e.Key)));

    private long Read(Func<CacheStats, long> pick) => Cache() is { } stats ? pick(stats) : 0;
}
