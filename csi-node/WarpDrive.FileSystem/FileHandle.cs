using Microsoft.Win32.SafeHandles;
using WarpDrive.Cache;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem;

/// <summary>
/// One open file: the version it was opened on, read through one reader. Reads may run concurrently on it
/// (FUSE_ASYNC_READ). If the object changes while open, reads fail with ESTALE rather than mixing versions.
/// A passthrough handle holds a share of its inode's backing file instead; the kernel never sends it reads.
/// </summary>
internal sealed class FileHandle(Inode inode, IObjectReader reader, bool passthrough, FuseRequestContext opener = default) : IDisposable
{
    /// <summary>Who opened the file: reads carry no caller, so access events name the opener.</summary>
    public FuseRequestContext Opener { get; } = opener;

    public Inode Inode { get; } = inode;

    public IObjectReader Reader { get; } = reader;

    public bool Passthrough => passthrough;

    /// <summary>The kernel's backing id of a passthrough open (0 otherwise), kept for the session journal.</summary>
    public int BackingId { get; init; }

    public void Dispose()
    {
        if (passthrough)
        {
            Inode.OpenModes.ReleaseBacking();
        }
        else
        {
            Inode.OpenModes.ReleaseCachedOpen();
        }

        Reader.Dispose();
    }
}

/// <summary>
/// The kernel's backing-file registration shared by an inode's passthrough opens: closed after the last of them
/// is released, before the pin lets the cache evict the blocks the kernel was reading.
/// </summary>
/// <remarks>After a take-over the file and pin may be missing (the cache no longer had the version complete); the
/// kernel keeps reading through its own reference to the file, and the id is still closed at the end.</remarks>
internal sealed class PassthroughBacking(IFuseConnection connection, int backingId, SafeFileHandle? file, IDisposable? pin) : IDisposable
{
    public int BackingId => backingId;

    public void Dispose()
    {
        connection.CloseBacking(backingId);
        file?.Dispose();
        pin?.Dispose();
    }
}

/// <summary>One open directory: the listing as it was at OPENDIR, so READDIR offsets stay valid while paging.</summary>
internal sealed class DirectoryHandle(Inode inode, DirectoryListing listing)
{
    public Inode Inode { get; } = inode;

    public DirectoryListing Listing { get; } = listing;
}
