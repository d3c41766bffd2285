using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using WarpDrive.Fuse.Native;

namespace WarpDrive.Fuse.Handover;

/// <summary>
/// An anonymous file in memory (memfd_create): state that must outlive the process writing it, passed by descriptor
/// to the fd holder. It lives exactly as long as some process holds a descriptor to it; nothing is left on disk.
/// </summary>
public static class MemoryFile
{
    public static SafeFileHandle Create(string name)
    {
        var fd = LibC.MemfdCreate(name, LibC.MFD_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"memfd_create: {LibC.Describe(Marshal.GetLastPInvokeError())}");
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Wraps a descriptor received from the holder; the handle owns (closes) it.</summary>
    public static SafeFileHandle Adopt(int fd) => new(fd, ownsHandle: true);
}
