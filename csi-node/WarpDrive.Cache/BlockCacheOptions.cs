namespace WarpDrive.Cache;

/// <summary>Configuration of the node's block cache. Sizes are in bytes.</summary>
/// <param name="Path">Root directory: data files under <c>blocks/</c>, RocksDB metadata under <c>meta/</c>.</param>
/// <param name="MaxSize">Upper bound of cached data; eviction keeps the cache below it.</param>
public sealed record BlockCacheOptions(string Path, long MaxSize)
{
    public const int DefaultBlockSize = 4 * 1024 * 1024;

    /// <summary>The unit of fetching and eviction (checksums cover 64 KiB sub-blocks). Changing it discards the existing cache content.</summary>
    public int BlockSize { get; init; } = DefaultBlockSize;

    /// <summary>Initial in-file prefetch window of a sequential reader, in blocks; it grows to twice this.</summary>
    public int ReadaheadBlocks { get; init; } = 4;

    /// <summary>Backend reads in flight at once, demand and speculative together.</summary>
    public int MaxParallelFetch { get; init; } = 16;

    public double EvictHighWater { get; init; } = 0.90;

    public double EvictLowWater { get; init; } = 0.80;

    /// <summary>Cap on readahead data being fetched at once.</summary>
    public long MaxSpeculativeBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary>How often in-memory access times are written to the metadata store.</summary>
    public TimeSpan AccessFlushInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the eviction loop runs when no insert has crossed the high-water mark.</summary>
    public TimeSpan EvictionInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often every cached block is re-read and re-hashed (the kernel reads passthrough files without us); zero turns the scrub off.</summary>
    public TimeSpan ScrubInterval { get; init; } = TimeSpan.FromHours(6);

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrEmpty(Path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxSize);
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 4096);
        ArgumentOutOfRangeException.ThrowIfNegative(ReadaheadBlocks);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxParallelFetch);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxSpeculativeBytes);
        if (!(EvictLowWater > 0 && EvictLowWater < EvictHighWater && EvictHighWater <= 1))
        {
            throw new ArgumentException("Water marks must satisfy 0 < EvictLowWater < EvictHighWater <= 1.");
        }
    }
}
