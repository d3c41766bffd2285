using System.Runtime.InteropServices;

namespace WarpDrive.Csi;

/// <summary>The raw mount(2)/umount2(2)/statvfs(3) calls the plugin needs beyond FUSE. Linux only; needs CAP_SYS_ADMIN.</summary>
public static partial class BindMounts
{
    private const ulong MsRdOnly = 0x1;      // MS_RDONLY
    private const ulong MsNoSuid = 0x2;      // MS_NOSUID: a published dataset never grants privileges
    private const ulong MsNoDev = 0x4;       // MS_NODEV: nor device access
    private const ulong MsRemount = 0x20;    // MS_REMOUNT
    private const ulong MsBind = 0x1000;     // MS_BIND
    private const int MntDetach = 0x2;       // MNT_DETACH: detach now, free when the last user closes
    private const int EINVAL = 22;
    private const int ENOENT = 2;
    private const int EBUSY = 16;

    /// <summary>
    /// A read-only bind mount takes two calls: the kernel ignores MS_RDONLY on the first MS_BIND (the new mount
    /// inherits the source's flags), so the bind is then remounted with MS_REMOUNT|MS_BIND|MS_RDONLY, which changes
    /// only this mount's per-mount flags and leaves the source mount writable-or-not as it was.
    /// </summary>
    public static void BindReadOnly(string source, string target)
    {
        if (Mount(source, target, null, MsBind, IntPtr.Zero) != 0)
        {
            throw Failure("bind mount", source, target);
        }

        if (Mount("none", target, null, MsRemount | MsBind | MsRdOnly | MsNoSuid | MsNoDev, IntPtr.Zero) != 0)
        {
            var error = Failure("read-only remount", source, target);
            Umount2(target, MntDetach); // never leave a writable bind behind
            throw error;
        }
    }

    /// <summary>Unmounts; a lazy detach when busy (a pod may still hold files open during teardown).</summary>
    public static void Unmount(string target)
    {
        if (Umount2(target, 0) == 0)
        {
            return;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno is EINVAL or ENOENT)
        {
            return; // not a mount point (any more), or gone: nothing to do
        }

        if (errno == EBUSY && Umount2(target, MntDetach) == 0)
        {
            return;
        }

        throw new IOException($"umount {target}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
    }

    /// <summary>Capacity and inode counts of the file system holding <paramref name="path"/>.</summary>
    public static (long TotalBytes, long AvailableBytes, long UsedBytes, long TotalInodes, long FreeInodes) Usage(string path)
    {
        if (StatVfs(path, out var s) != 0)
        {
            throw new IOException($"statvfs {path}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }

        var unit = (long)s.FragmentSize;
        var total = (long)s.Blocks * unit;
        var available = (long)s.BlocksAvailable * unit;
        var used = ((long)s.Blocks - (long)s.BlocksFree) * unit;
        return (total, available, used, (long)s.Files, (long)s.FilesFree);
    }

    private static IOException Failure(string what, string source, string target) =>
        new($"{what} {source} -> {target}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Mount(string source, string target, string? fileSystemType, ulong flags, IntPtr data);

    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Umount2(string target, int flags);

    [LibraryImport("libc", EntryPoint = "statvfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatVfs(string path, out StatVfsResult result);

    /// <summary>glibc's <c>struct statvfs</c> on 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct StatVfsResult
    {
        public ulong BlockSize;
        public ulong FragmentSize;
        public ulong Blocks;
        public ulong BlocksFree;
        public ulong BlocksAvailable;
        public ulong Files;
        public ulong FilesFree;
        public ulong FilesAvailable;
        public ulong FileSystemId;
        public ulong Flags;
        public ulong NameMax;
        private readonly int _spare0, _spare1, _spare2, _spare3, _spare4, _spare5;
    }
}
