using Microsoft.Win32.SafeHandles;
using WarpDrive.Cache;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem;

/// <summary>
/// One open file. Reads may run concurrently on it (FUSE_ASYNC_READ). When the object changes under an
/// open file, a fresh reader is swapped in; the replaced one may still serve in-flight reads, so it is
/// only disposed at release, with the current one.
/// </summary>
internal sealed class FileHandle(Inode inode, IObjectReader reader, PassthroughBacking? passthrough = null) : IDisposable
{
    private readonly Lock _retiredLock = new();
    private readonly List<IObjectReader> _retired = [];
    private IObjectReader _reader = reader;

    public Inode Inode { get; } = inode;

    public IObjectReader Reader => Volatile.Read(ref _reader);

    /// <summary>Replaces <paramref name="expected"/> with <paramref name="fresh"/>; if another read already replaced it, disposes <paramref name="fresh"/> and returns the winner.</summary>
    public IObjectReader Replace(IObjectReader expected, IObjectReader fresh)
    {
        var current = Interlocked.CompareExchange(ref _reader, fresh, expected);
        if (!ReferenceEquals(current, expected))
        {
            fresh.Dispose();
            return current;
        }

        lock (_retiredLock)
        {
            _retired.Add(expected);
        }

        return fresh;
    }

    public void Dispose()
    {
        passthrough?.Dispose();
        Reader.Dispose();
        lock (_retiredLock)
        {
            foreach (var old in _retired)
            {
                old.Dispose();
            }

            _retired.Clear();
        }
    }
}

/// <summary>
/// The kernel's backing-file registration for a passthrough open: closed at release, before the pin lets the
/// cache evict the blocks the kernel was reading.
/// </summary>
internal sealed class PassthroughBacking(IFuseConnection connection, int backingId, SafeFileHandle file, IDisposable pin) : IDisposable
{
    public int BackingId => backingId;

    public void Dispose()
    {
        connection.CloseBacking(backingId);
        file.Dispose();
        pin.Dispose();
    }
}

/// <summary>One open directory: the listing as it was at OPENDIR, so READDIR offsets stay valid while paging.</summary>
internal sealed class DirectoryHandle(Inode inode, DirectoryListing listing)
{
    public Inode Inode { get; } = inode;

    public DirectoryListing Listing { get; } = listing;
}
