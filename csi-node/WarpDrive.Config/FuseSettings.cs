namespace WarpDrive.Config;

/// <summary>YAML <c>fuse:</c> — how the kernel talks to us and how long it may cache our answers.</summary>
public sealed class FuseSettings
{
    /// <summary>Threads reading requests from /dev/fuse (1..64).</summary>
    public int Workers { get; init; } = 4;

    /// <summary>How long the kernel may cache a name → inode lookup.</summary>
    public TimeSpan EntryTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the kernel may cache file attributes.</summary>
    public TimeSpan AttrTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the kernel may cache "no such file".</summary>
    public TimeSpan NegativeTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Directory listings kept in memory.</summary>
    public int DirCacheEntries { get; init; } = 1024;

    /// <summary>How long a cached directory listing is trusted.</summary>
    public TimeSpan DirCacheTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Requests the kernel may have outstanding in the background (readahead, async reads).</summary>
    public int MaxBackground { get; init; } = 64;

    /// <summary>One of <see cref="MountHelpers"/>: auto, mount (mount(2) as root) or fusermount3.</summary>
    public string MountHelper { get; init; } = MountHelpers.Auto;
}

/// <summary>Values of <c>fuse.mount_helper</c>.</summary>
public static class MountHelpers
{
    public const string Auto = "auto";
    public const string Mount = "mount";
    public const string Fusermount3 = "fusermount3";

    public static IReadOnlyList<string> All { get; } = [Auto, Mount, Fusermount3];
}
