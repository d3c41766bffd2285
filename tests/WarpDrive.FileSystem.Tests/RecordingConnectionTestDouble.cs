using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem.Tests;

/// <summary>Stands in for the kernel connection (no /dev/fuse in these tests): records the invalidations asked for.</summary>
internal sealed class RecordingConnectionTestDouble : IFuseConnection
{
    public ConcurrentQueue<ulong> InvalidatedInodes { get; } = new();

    public uint ProtocolMinor => 41;

    public bool PassthroughAvailable => false;

    public Errno InvalidateInode(ulong nodeId, long offset = 0, long length = 0)
    {
        InvalidatedInodes.Enqueue(nodeId);
        return Errno.Ok;
    }

    public Errno InvalidateEntry(ulong parentNodeId, string name) => Errno.Ok;

    public int OpenBacking(SafeFileHandle file) => -(int)Errno.ENOSYS;

    public void CloseBacking(int backingId)
    {
    }
}
