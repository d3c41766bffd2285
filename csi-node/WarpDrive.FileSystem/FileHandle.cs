using Microsoft.Win32.SafeHandles;
using WarpDrive.Cache;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem;

/// <summary>
/// One open file: the version it was opened on, read through one reader. Reads may run concurrently on it
/// (FUSE_ASYNC_READ). If the object changes while open, reads fail with ESTALE rather than mixing versions.
/// </summary>
internal sealed class FileHandle(Inode inode, IObjectReader reader, PassthroughBacking? passthrough = null) : IDisposable
{
    public Inode Inode { get; } = inode;

    public IObjectReader Reader { get; } = reader;

    public void Dispose()
    {
        passthrough?.Dispose();
        Reader.Dispose();
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
