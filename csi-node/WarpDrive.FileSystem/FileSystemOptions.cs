using WarpDrive.Backends;
using WarpDrive.Telemetry;

namespace WarpDrive.FileSystem;

/// <summary>How long the kernel and this layer may trust what they were told, and who owns the files.</summary>
public sealed record FileSystemOptions
{
    /// <summary>How long the kernel may keep a name → node id binding (entry_valid).</summary>
    public TimeSpan EntryTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the kernel may keep attributes, and how long ours stay fresh before GETATTR re-stats.</summary>
    public TimeSpan AttrTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the kernel may remember that a name does not exist; zero answers plain ENOENT.</summary>
    public TimeSpan NegativeTtl { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>At most this many directory listings are kept (least recently used go first).</summary>
    public int DirCacheEntries { get; init; } = 1024;

    /// <summary>A cached listing older than this is fetched again.</summary>
    public TimeSpan DirCacheTtl { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>OPEN re-stats the object when what we know of it is older than this.</summary>
    public TimeSpan StatTtl { get; init; } = TimeSpan.FromSeconds(5);

    public uint Uid { get; init; }

    public uint Gid { get; init; }

    /// <summary>Where open and read events go (access telemetry); <see cref="NullAccessRecorder"/> records nothing at no cost.</summary>
    public IAccessRecorder AccessRecorder { get; init; } = NullAccessRecorder.Instance;

    /// <summary>This node's name, stamped on access events.</summary>
    public string NodeName { get; init; } = Environment.MachineName;

    /// <summary>Where node-id collision records persist across restarts; null keeps them in memory only.</summary>
    public string? NodeIdStatePath { get; init; }

    /// <summary>
    /// What statfs (<c>df</c>) reports, read at each call: the node's block cache size and use. Null, or a null
    /// answer, reports no capacity (0 blocks: <c>df</c> lists the mount only with <c>-a</c>), since a read-only
    /// tree over object stores has no size of its own.
    /// </summary>
    public Func<StorageCapacity?>? Capacity { get; init; }
}

/// <summary>Bytes in all and in use, as statfs reports them.</summary>
public readonly record struct StorageCapacity(long TotalBytes, long UsedBytes);

/// <summary>One backend shown at <paramref name="MountPath"/> (absolute, e.g. "/datasets/imagenet", never "/").</summary>
public sealed record BackendMount(string MountPath, IBackend Backend)
{
    /// <summary>Asked at every open before any byte is served (a tree that reads with a pod's identity); null: none.</summary>
    public IReadAccessCheck? AccessCheck { get; init; }
}
