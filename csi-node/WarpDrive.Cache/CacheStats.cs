namespace WarpDrive.Cache;

/// <summary>A point-in-time view of the cache's counters (counters are totals since the cache was opened).</summary>
public sealed record CacheStats(
    long Hits,
    long Misses,
    long Evictions,
    long SizeBytes,
    long MaxSizeBytes,
    long PinnedBytes,
    int Objects,
    long ReadaheadIssued,
    long ReadaheadHits,
    long ReadaheadWasted,
    long ChecksumFailures,
    long BackendFetches,
    long OrphansReclaimed)
{
    /// <summary>Cached bytes as a fraction of the maximum size.</summary>
    public double Utilisation => MaxSizeBytes == 0 ? 0 : (double)SizeBytes / MaxSizeBytes;
}

/// <summary>The live counters behind <see cref="CacheStats"/>; fields are updated with Interlocked.</summary>
internal sealed class CacheCounters
{
    public long Hits;
    public long Misses;
    public long Evictions;
    public long ReadaheadIssued;
    public long ReadaheadHits;
    public long ReadaheadWasted;
    public long ChecksumFailures;
    public long BackendFetches;
    public long OrphansReclaimed;
}
