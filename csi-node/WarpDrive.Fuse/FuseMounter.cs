using System.Diagnostics;
using System.Text;
using WarpDrive.Fuse.Native;

namespace WarpDrive.Fuse;

/// <summary>
/// Creates and removes the kernel mount, and hands back the /dev/fuse file descriptor that serves it.
/// The only place that calls mount(2), umount2(2) or fusermount3.
/// </summary>
public static class FuseMounter
{
    /// <summary>Mounts and returns the connected /dev/fuse fd. The caller owns (closes) it.</summary>
    public static int Mount(FuseMountOptions options)
    {
        var mountPoint = Path.GetFullPath(options.MountPoint);
        if (!Directory.Exists(mountPoint))
        {
            throw new FuseMountException($"mount point {mountPoint} does not exist or is not a directory");
        }

        var method = options.Method;
        if (method == MountMethod.Auto)
        {
            method = Environment.IsPrivilegedProcess ? MountMethod.Syscall : MountMethod.Fusermount;
        }

        return method == MountMethod.Syscall ? MountWithSyscall(mountPoint, options) : MountWithFusermount(mountPoint, options);
    }

    /// <summary>
    /// Unmounts. With <paramref name="lazy"/>, a busy mount is detached (MNT_DETACH): it disappears from the
    /// tree now and goes away when its last user closes it, which is what a clean stop wants.
    /// </summary>
    public static void Unmount(string mountPoint, bool lazy = true)
    {
        mountPoint = Path.GetFullPath(mountPoint);
        if (Environment.IsPrivilegedProcess)
        {
            if (LibC.Umount2(mountPoint, 0) == 0)
            {
                return;
            }

            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == LibC.EINVAL)
            {
                return; // Not a mount point (any more): nothing to do.
            }

            if (lazy && errno == LibC.EBUSY && LibC.Umount2(mountPoint, LibC.MNT_DETACH) == 0)
            {
                return;
            }

            throw new FuseMountException($"umount {mountPoint}: {LibC.Describe(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
        }

        RunFusermount(lazy ? ["-u", "-z", "--", mountPoint] : ["-u", "--", mountPoint], environment: null, out var error);
        if (error is not null && !error.Contains("not mounted", StringComparison.OrdinalIgnoreCase) && !error.Contains("not found in", StringComparison.OrdinalIgnoreCase))
        {
            throw new FuseMountException($"fusermount3 -u {mountPoint}: {error}");
        }
    }

    /// <summary>True when <paramref name="mountPoint"/> is currently a FUSE mount in this mount namespace.</summary>
    public static bool IsMounted(string mountPoint)
    {
        mountPoint = Path.GetFullPath(mountPoint).TrimEnd('/');
        foreach (var line in File.ReadLines("/proc/self/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 2 && fields[2].StartsWith("fuse", StringComparison.Ordinal) && UnescapeMountField(fields[1]) == mountPoint)
            {
                return true;
            }
        }

        return false;
    }

    private static int MountWithSyscall(string mountPoint, FuseMountOptions options)
    {
        var fd = LibC.Open("/dev/fuse", LibC.O_RDWR | LibC.O_CLOEXEC);
        if (fd < 0)
        {
            throw new FuseMountException($"open /dev/fuse: {LibC.Describe(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
        }

        // fd= hands our device fd to the kernel; rootmode=40000 says the root is a directory; user_id/group_id
        // name who may use the mount without allow_other; default_permissions makes the kernel check mode bits
        // itself so we never see ACCESS for permission checks.
        var data = new StringBuilder()
            .Append("fd=").Append(fd)
            .Append(",rootmode=40000,user_id=").Append(LibC.GetUid())
            .Append(",group_id=").Append(LibC.GetGid())
            .Append(",default_permissions");
        if (options.AllowOther)
        {
            data.Append(",allow_other");
        }

        // Read-only at the VFS level: the kernel refuses writes with EROFS before they reach us; nosuid and
        // nodev because remote data must never carry privileges.
        const ulong flags = LibC.MS_RDONLY | LibC.MS_NOSUID | LibC.MS_NODEV;
        if (LibC.Mount(options.FsName, mountPoint, "fuse." + options.Subtype, flags, data.ToString()) != 0)
        {
            var errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            throw new FuseMountException($"mount {mountPoint}: {LibC.Describe(errno)}");
        }

        return fd;
    }

    private static unsafe int MountWithFusermount(string mountPoint, FuseMountOptions options)
    {
        // fusermount3 opens /dev/fuse, mounts, and sends the fd back over the socket named by _FUSE_COMMFD.
        // Our end is close-on-exec; the child's end must be inherited, so it is created without SOCK_CLOEXEC.
        var fds = stackalloc int[2];
        if (LibC.SocketPair(LibC.AF_UNIX, LibC.SOCK_STREAM, 0, fds) != 0)
        {
            throw new FuseMountException($"socketpair: {LibC.Describe(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
        }

        var ours = fds[0];
        var theirs = fds[1];
        try
        {
            var mountOptions = $"ro,nosuid,nodev,default_permissions,fsname={options.FsName},subtype={options.Subtype}" + (options.AllowOther ? ",allow_other" : "");
            var code = RunFusermount(["-o", mountOptions, "--", mountPoint], new() { ["_FUSE_COMMFD"] = theirs.ToString() }, out var error, closeBeforeWait: theirs);
            theirs = -1;
            if (code != 0)
            {
                throw new FuseMountException($"fusermount3 {mountPoint}: {error ?? "exit code " + code}");
            }

            return ReceiveFd(ours);
        }
        finally
        {
            LibC.Close(ours);
            if (theirs >= 0)
            {
                LibC.Close(theirs);
            }
        }
    }

    private static unsafe int ReceiveFd(int socket)
    {
        byte data = 0;
        var iov = new LibC.IoVec { Base = &data, Length = 1 };
        var control = stackalloc byte[64];
        var message = new LibC.MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 64 };
        nint received;
        do
        {
            received = LibC.RecvMsg(socket, &message, 0);
        }
        while (received < 0 && System.Runtime.InteropServices.Marshal.GetLastPInvokeError() == LibC.EINTR);

        if (received <= 0)
        {
            throw new FuseMountException("fusermount3 did not send the /dev/fuse descriptor");
        }

        var header = (LibC.CMsgHdr*)control;
        if (message.ControlLength < (nuint)sizeof(LibC.CMsgHdr) || header->Level != LibC.SOL_SOCKET || header->Type != LibC.SCM_RIGHTS)
        {
            throw new FuseMountException("fusermount3 sent a message without a file descriptor");
        }

        return *(int*)(control + sizeof(LibC.CMsgHdr));
    }

    private static int RunFusermount(string[] arguments, Dictionary<string, string>? environment, out string? error, int closeBeforeWait = -1)
    {
        var start = new ProcessStartInfo("fusermount3") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new FuseMountException("could not start fusermount3");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new FuseMountException($"fusermount3 is not installed (apt-get install fuse3): {e.Message}");
        }

        using (process)
        {
            if (closeBeforeWait >= 0)
            {
                LibC.Close(closeBeforeWait);
            }

            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            error = string.IsNullOrWhiteSpace(stderr) ? null : stderr.Trim();
            return process.ExitCode;
        }
    }

    private static string UnescapeMountField(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}

/// <summary>A mount or unmount failed; the message says which call and why.</summary>
public sealed class FuseMountException(string message) : Exception(message);
