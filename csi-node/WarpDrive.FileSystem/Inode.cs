using WarpDrive.Backends;

namespace WarpDrive.FileSystem;

/// <summary>What we last learned about a backend path, and when (a <see cref="TimeProvider"/> timestamp).</summary>
internal sealed record NodeState(BackendEntry? Entry, long FetchedAt);

/// <summary>
/// One node the kernel knows by id. The identity fields never change; <see cref="State"/> is replaced
/// whole (a single reference write), so readers never see half an update without taking a lock.
/// <see cref="LookupCount"/> belongs to <see cref="InodeTable"/> and is only touched under its lock.
/// </summary>
internal sealed class Inode(ulong nodeId, string virtualPath, string identity, Resolution resolution, NodeState state)
{
    private NodeState _state = state;
    private int _opened;

    public ulong NodeId { get; } = nodeId;

    public string VirtualPath { get; } = virtualPath;

    /// <summary>The path for a directory; the path and ETag for a file (<see cref="InodeTable.IdentityOf"/>).</summary>
    public string Identity { get; } = identity;

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

    /// <summary>Which mode (page cache or passthrough) this inode's open files are in; the kernel allows only one at a time.</summary>
    public OpenModes OpenModes { get; } = new();

    /// <summary>Records an open; true when the inode was opened before (an inode is one version, so what the kernel cached of it is still right).</summary>
    public bool MarkOpened() => Interlocked.Exchange(ref _opened, 1) == 1;
}
