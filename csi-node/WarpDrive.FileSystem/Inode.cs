using WarpDrive.Backends;

namespace WarpDrive.FileSystem;

/// <summary>What we last learned about a backend path, and when (a <see cref="TimeProvider"/> timestamp).</summary>
internal sealed record NodeState(BackendEntry? Entry, long FetchedAt);

/// <summary>
/// One node the kernel knows by id. The identity fields never change; <see cref="State"/> is replaced
/// whole (a single reference write), so readers never see half an update without taking a lock.
/// <see cref="LookupCount"/> belongs to <see cref="InodeTable"/> and is only touched under its lock.
/// </summary>
internal sealed class Inode(ulong nodeId, string virtualPath, Resolution resolution, NodeState state)
{
    private NodeState _state = state;
    private string? _lastOpenETag;

    public ulong NodeId { get; } = nodeId;

    public string VirtualPath { get; } = virtualPath;

    /// <summary>The backend serving this path; null for a directory that exists only above mounts.</summary>
    public BackendMount? Mount { get; } = resolution.Mount;

    public string RelativePath { get; } = resolution.RelativePath;

    /// <summary>The root, a mount root or a parent of a mount: always a directory with synthesised attributes.</summary>
    public bool IsVirtualDirectory { get; } = resolution.IsVirtualDirectory;

    public bool IsDirectory => IsVirtualDirectory || State.Entry is { IsDirectory: true };

    public NodeState State
    {
        get => Volatile.Read(ref _state);
        set => Volatile.Write(ref _state, value);
    }

    internal long LookupCount { get; set; }

    /// <summary>Swaps in the ETag of this open and returns the one seen at the previous open (null if none).</summary>
    public string? ExchangeLastOpenETag(string etag) => Interlocked.Exchange(ref _lastOpenETag, etag);
}
