using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace WarpDrive.Backends.Local;

/// <summary>The kind of a filesystem object, from the S_IFMT bits of its mode.</summary>
internal enum UnixFileKind
{
    Other,
    File,
    Directory,
}

/// <summary>
/// What statx(2) reports about one file: enough to build a <see cref="BackendEntry"/> and to tell whether a
/// path still names the same file (device + inode), which .NET's FileInfo cannot.
/// </summary>
internal readonly record struct UnixFileStatus(UnixFileKind Kind, ulong Device, ulong Inode, long Size, DateTimeOffset LastModified, long MtimeNanoseconds)
{
    public bool IsSameFileAs(in UnixFileStatus other) => Device == other.Device && Inode == other.Inode;

    /// <summary>Changes when the file is replaced (inode), rewritten (mtime) or resized.</summary>
    public string ETag => $"\"{Inode:x}-{Size:x}-{MtimeNanoseconds:x}\"";
}

/// <summary>
/// Thin libc interop. statx is used rather than stat because its buffer layout is fixed by the kernel on
/// every architecture, so no per-ABI struct definitions are needed.
/// </summary>
internal static unsafe partial class UnixNative
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int StatxBufferSize = 256;

    public const int ENOENT = 2;
    public const int EIO = 5;
    public const int EACCES = 13;
    public const int EPERM = 1;
    public const int ENOTDIR = 20;
    public const int ELOOP = 40;
    public const int ENAMETOOLONG = 36;
    public const int ENOTCONN = 107;
    public const int ETIMEDOUT = 110;
    public const int EHOSTDOWN = 112;
    public const int ESTALE = 116;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int StatxPath(int dirFd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int StatxFd(int dirFd, byte* emptyPath, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "realpath", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial byte* RealPathNative(string path, byte* resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(void* pointer);

    private const int AtSymlinkNoFollow = 0x100;

    /// <summary>statx of a path; returns 0 or an errno. Without <paramref name="followSymlinks"/> a symlink is reported as <see cref="UnixFileKind.Other"/>.</summary>
    public static int TryStat(string path, bool followSymlinks, out UnixFileStatus status)
    {
        byte* buffer = stackalloc byte[StatxBufferSize];
        if (StatxPath(AtFdCwd, path, followSymlinks ? 0 : AtSymlinkNoFollow, StatxBasicStats, buffer) != 0)
        {
            status = default;
            return Marshal.GetLastPInvokeError();
        }
        status = Decode(new ReadOnlySpan<byte>(buffer, StatxBufferSize));
        return 0;
    }

    /// <summary>statx of an open handle; returns 0 or an errno.</summary>
    public static int TryStat(SafeFileHandle handle, out UnixFileStatus status)
    {
        byte* buffer = stackalloc byte[StatxBufferSize];
        byte emptyPath = 0;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (StatxFd((int)handle.DangerousGetHandle(), &emptyPath, AtEmptyPath, StatxBasicStats, buffer) != 0)
            {
                status = default;
                return Marshal.GetLastPInvokeError();
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
        status = Decode(new ReadOnlySpan<byte>(buffer, StatxBufferSize));
        return 0;
    }

    /// <summary>realpath(3): the absolute path with every symlink resolved, or null with an errno.</summary>
    public static string? RealPath(string path, out int errno)
    {
        var resolved = RealPathNative(path, null);
        if (resolved == null)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }
        try
        {
            errno = 0;
            return Marshal.PtrToStringUTF8((nint)resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    // Offsets from struct statx in <linux/stat.h>.
    private static UnixFileStatus Decode(ReadOnlySpan<byte> b)
    {
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]);
        var inode = BinaryPrimitives.ReadUInt64LittleEndian(b[32..]);
        var size = (long)BinaryPrimitives.ReadUInt64LittleEndian(b[40..]);
        var mtimeSeconds = BinaryPrimitives.ReadInt64LittleEndian(b[112..]);
        var mtimeNanos = BinaryPrimitives.ReadUInt32LittleEndian(b[120..]);
        var devMajor = BinaryPrimitives.ReadUInt32LittleEndian(b[136..]);
        var devMinor = BinaryPrimitives.ReadUInt32LittleEndian(b[140..]);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => UnixFileKind.File,
            0x4000 => UnixFileKind.Directory,
            _ => UnixFileKind.Other,
        };
        var lastModified = DateTimeOffset.FromUnixTimeSeconds(mtimeSeconds).AddTicks(mtimeNanos / 100);
        return new UnixFileStatus(kind, ((ulong)devMajor << 32) | devMinor, inode, size, lastModified, (mtimeSeconds * 1_000_000_000) + mtimeNanos);
    }
}
