using System.Diagnostics.Metrics;
using WarpDrive.Cache;
using WarpDrive.Config;

namespace WarpDrive.Node.Observability;

/// <summary>
/// The node host's instruments, on the "WarpDrive.Node" meter (the FUSE layer has its own, "WarpDrive.Fuse").
/// Names are chosen so the Prometheus exporter's suffixes (_total for counters, the unit for "By", "s" and "1")
/// give exactly the documented scrape names, e.g. <c>warpdrive_cache_hit</c> → <c>warpdrive_cache_hit_total</c>,
/// <c>warpdrive_cache_size</c> (By) → <c>warpdrive_cache_size_bytes</c>.
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
        _meter.CreateObservableGauge("warpdrive_cache_utilization", () => Cache()?.Utilisation ?? 0, unit: "1", description: "Cached bytes as a fraction of the maximum size.");
        _meter.CreateObservableCounter("warpdrive_readahead_hit", () => Read(s => s.ReadaheadHits), description: "Prefetched blocks that were then read.");
        _meter.CreateObservableCounter("warpdrive_readahead_wasted", () => Read(s => s.ReadaheadWasted), description: "Prefetched blocks evicted unread.");
        BackendRequestDuration = _meter.CreateHistogram<double>("warpdrive_backend_request_duration", unit: "s", description: "Backend request latency, by backend and operation.");
        BackendErrors = _meter.CreateCounter<long>("warpdrive_backend_errors", description: "Failed backend requests, by backend and error type.");
        BackendBytesRead = _meter.CreateCounter<long>("warpdrive_backend_bytes_read", description: "Bytes read from backends.");
        AuthRefresh = _meter.CreateCounter<long>("warpdrive_auth_refresh", description: "Credential refreshes, by provider and status.");

        // One zero series per provider, so dashboards and alerts see the metric before the first refresh.
        foreach (var provider in AuthMethods.All.Where(m => m != AuthMethods.None))
        {
            AuthRefresh.Add(0, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("status", "success"));
        }
    }

    /// <summary>Where cache counters come from (null when there is no block cache yet, or none at all).</summary>
    public Func<CacheStats?> Cache { get; set; }

    public Histogram<double> BackendRequestDuration { get; }

    public Counter<long> BackendErrors { get; }

    public Counter<long> BackendBytesRead { get; }

    /// <summary>For the credential providers: count each refresh with its provider and status (success, failure).</summary>
    public Counter<long> AuthRefresh { get; }

    public void Dispose() => _meter.Dispose();

    private long Read(Func<CacheStats, long> pick) => Cache() is { } stats ? pick(stats) : 0;
}
