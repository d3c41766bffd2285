using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace WarpDrive.Cache;

/// <summary>libc calls .NET has no API for.</summary>
internal static partial class NativeMethods
{
    private const int FallocFlKeepSize = 0x01;
    private const int FallocFlPunchHole = 0x02;

    /// <summary>Frees the disk space of a range while keeping the file size (reads of the range return zeros).</summary>
    public static bool TryPunchHole(SafeFileHandle file, long offset, long length, out int errno)
    {
        if (Fallocate(file, FallocFlPunchHole | FallocFlKeepSize, offset, length) == 0)
        {
            errno = 0;
            return true;
        }

        errno = Marshal.GetLastPInvokeError();
        return false;
    }

    [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
    private static partial int Fallocate(SafeFileHandle fd, int mode, long offset, long length);
}
