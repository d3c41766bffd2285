using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace WarpDrive.PosixConformance;

/// <summary>
/// Raw libc calls that return the errno, so tests can assert the exact error (EROFS, ENOENT, ENOTDIR, ...)
/// instead of whatever exception type .NET maps it to.
/// </summary>
public static partial class PosixCalls
{
    public const int ENOENT = 2;
    public const int EISDIR = 21;
    public const int ENOTDIR = 20;
    public const int EROFS = 30;

    public const int O_RDONLY = 0;
    public const int O_WRONLY = 1;
    public const int O_RDWR = 2;
    public const int O_CREAT = 0x40;
    public const int O_EXCL = 0x80;
    public const int O_TRUNC = 0x200;
    public const int O_APPEND = 0x400;
    public const int O_DIRECTORY = 0x10000;
    public const int O_CLOEXEC = 0x80000;

    public const int W_OK = 2;

    public const uint S_IFMT = 0xF000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFDIR = 0x4000;

    private const string Lib = "libc";
    private const int AT_FDCWD = -100;
    private const uint STATX_BASIC_STATS = 0x7FF;

    /// <summary>Runs <paramref name="call"/>; returns 0 when it succeeded, else the errno it failed with.</summary>
    public static int ErrnoOf(Func<long> call)
    {
        var result = call();
        if (result >= 0)
        {
            return 0;
        }

        return Marshal.GetLastPInvokeError();
    }

    /// <summary>Opens and, when that succeeds, closes again: 0 or the errno of open(2).</summary>
    public static int OpenErrno(string path, int flags, uint mode = 0)
    {
        var fd = Open(path, flags | O_CLOEXEC, mode);
        if (fd < 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        _ = Close(fd);
        return 0;
    }

    /// <summary>statx(2), whose layout is the same on every architecture (unlike struct stat).</summary>
    public static bool TryStat(string path, out FileStatus status, out int errno)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (Statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            errno = Marshal.GetLastPInvokeError();
            status = default;
            return false;
        }

        errno = 0;
        status = new FileStatus(
            Mode: BinaryPrimitives.ReadUInt16LittleEndian(buffer[28..]),
            Size: BinaryPrimitives.ReadInt64LittleEndian(buffer[40..]),
            MtimeSeconds: BinaryPrimitives.ReadInt64LittleEndian(buffer[112..]));
        return true;
    }

    public static FileStatus Stat(string path) =>
        TryStat(path, out var status, out var errno) ? status : throw new IOException($"statx {path}: errno {errno}", errno);

    public static int StatErrno(string path) => TryStat(path, out _, out var errno) ? 0 : errno;

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags, uint mode);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, ref byte buffer, nuint count);

    [LibraryImport(Lib, EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Access(string path, int mode);

    [LibraryImport(Lib, EntryPoint = "truncate", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Truncate(string path, long length);

    [LibraryImport(Lib, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Unlink(string path);

    [LibraryImport(Lib, EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mkdir(string path, uint mode);

    [LibraryImport(Lib, EntryPoint = "rmdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Rmdir(string path);

    [LibraryImport(Lib, EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Rename(string from, string to);

    [LibraryImport(Lib, EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chmod(string path, uint mode);

    [LibraryImport(Lib, EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, uint owner, uint group);

    /// <summary>utimensat(AT_FDCWD, path, NULL, 0): set both times to now, a plain SETATTR.</summary>
    [LibraryImport(Lib, EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Utimensat(int dirFd, string path, nint times, int flags);

    [LibraryImport(Lib, EntryPoint = "symlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Symlink(string target, string linkPath);

    [LibraryImport(Lib, EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Link(string existing, string newPath);

    public static int TouchNow(string path) => Utimensat(AT_FDCWD, path, 0, 0);

    [LibraryImport(Lib, EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, ref byte statx);
}

/// <summary>The fields of statx(2) the suite checks.</summary>
public readonly record struct FileStatus(uint Mode, long Size, long MtimeSeconds)
{
    public bool IsRegularFile => (Mode & PosixCalls.S_IFMT) == PosixCalls.S_IFREG;

    public bool IsDirectory => (Mode & PosixCalls.S_IFMT) == PosixCalls.S_IFDIR;

    /// <summary>Any of the owner, group or other write bits.</summary>
    public bool HasWriteBits => (Mode & 0x92) != 0;

    public string ModeOctal => Convert.ToString(Mode, 8);
}
