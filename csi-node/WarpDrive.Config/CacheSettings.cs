namespace WarpDrive.Config;

/// <summary>YAML <c>cache:</c> — the local NVMe block cache.</summary>
public sealed class CacheSettings
{
    public bool Enabled { get; init; } = true;

    /// <summary>Directory holding cached blocks; absolute.</summary>
    public string Path { get; init; } = "/tmp/warpdrive-cache";

    /// <summary>Bytes the cache may use on disk; at least <see cref="BlockSize"/>.</summary>
    public long MaxSize { get; init; } = 50L * ByteSize.GiB;

    /// <summary>Unit of fetching and caching, in bytes: a power of two from 64KiB to 64MiB.</summary>
    public long BlockSize { get; init; } = 4 * ByteSize.MiB;

    /// <summary>Blocks fetched ahead of a sequential reader (0..256).</summary>
    public int ReadaheadBlocks { get; init; } = 4;

    /// <summary>Block fetches in flight at once across the node (1..1024).</summary>
    public int MaxParallelFetch { get; init; } = 16;

    /// <summary>Fill fraction at which eviction starts.</summary>
    public double EvictHighWater { get; init; } = 0.90;

    /// <summary>Fill fraction eviction brings the cache back down to.</summary>
    public double EvictLowWater { get; init; } = 0.80;

    /// <summary>How often an open file's ETag is rechecked against the backend.</summary>
    public TimeSpan StatTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>One of <see cref="PassthroughModes"/>: FUSE passthrough of fully cached files.</summary>
    public string Passthrough { get; init; } = PassthroughModes.Auto;
}

/// <summary>Values of <c>cache.passthrough</c>.</summary>
public static class PassthroughModes
{
    public const string Auto = "auto";
    public const string Off = "off";

    public static IReadOnlyList<string> All { get; } = [Auto, Off];
}
