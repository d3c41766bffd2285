using System.Runtime.InteropServices;

namespace WarpDrive.Backends.Local;

/// <summary>Whether a <c>local</c> backend's files are served in place (config key <c>serve_in_place</c>).</summary>
public enum InPlaceMode
{
    /// <summary>In place when the root is on a local-disk file system (statfs f_type), cached otherwise.</summary>
    Auto,

    /// <summary>Always serve the source files in place.</summary>
    Always,

    /// <summary>Always copy through the node cache.</summary>
    Never,
}

/// <summary>
/// Tells local-disk file systems from network and FUSE ones by statfs(2)'s f_type. Only types known to live on a
/// local block device (or in memory) count as local: an unknown type is treated as remote, so the safe default
/// (cache it) wins when in doubt. NFS, SMB, Ceph, Lustre, GPFS, BeeGFS, 9p and every FUSE file system are remote:
/// reading them twice costs the network twice, which is what the cache is for.
/// </summary>
public static partial class SourceFileSystem
{
    // Magic numbers from linux/magic.h (and the file systems' own headers for zfs, bcachefs, ntfs3).
    private static readonly Dictionary<long, string> LocalTypes = new()
    {
        [0xEF53] = "ext2/3/4",
        [0x58465342] = "xfs",
        [0x9123683E] = "btrfs",
        [0x01021994] = "tmpfs",
        [0x858458F6] = "ramfs",
        [0xF2F52010] = "f2fs",
        [0x2FC12FC1] = "zfs",
        [0xCA451A4E] = "bcachefs",
        [0x794C7630] = "overlayfs",
        [0x3153464A] = "jfs",
        [0x52654973] = "reiserfs",
        [0x2011BAB0] = "exfat",
        [0x4D44] = "vfat",
        [0x7366746E] = "ntfs3",
        [0x73717368] = "squashfs",
        [0xE0F5E1E2] = "erofs",
        [0x3434] = "nilfs",
    };

    private static readonly Dictionary<long, string> KnownRemoteTypes = new()
    {
        [0x6969] = "nfs",
        [0xFF534D42] = "cifs",
        [0xFE534D42] = "smb2",
        [0x00C36400] = "ceph",
        [0x0BD00BD0] = "lustre",
        [0x47504653] = "gpfs",
        [0x19830326] = "beegfs",
        [0x01021997] = "9p",
        [0x65735546] = "fuse",
        [0x5346414F] = "afs",
    };

    /// <summary>Parses the config value; null when it is not one of auto, true, false.</summary>
    public static InPlaceMode? ParseMode(string? value) => value switch
    {
        null or "" or "auto" => InPlaceMode.Auto,
        "true" => InPlaceMode.Always,
        "false" => InPlaceMode.Never,
        _ => null,
    };

    /// <summary>The file system type of <paramref name="path"/> (f_type), or null when statfs fails.</summary>
    public static long? TypeOf(string path)
    {
        Span<long> buffer = stackalloc long[16]; // struct statfs is 120 bytes on 64-bit Linux; f_type comes first
        unsafe
        {
            fixed (long* raw = buffer)
            {
                return StatFs(path, raw) == 0 ? buffer[0] & 0xFFFFFFFF : null;
            }
        }
    }

    /// <summary>True when <paramref name="type"/> is a local-disk or in-memory file system.</summary>
    public static bool IsLocal(long? type) => type is { } t && LocalTypes.ContainsKey(t);

    /// <summary>A name for logs: "ext2/3/4", "nfs", or the hex magic number.</summary>
    public static string Describe(long? type) => type is not { } t ? "unknown (statfs failed)"
        : LocalTypes.TryGetValue(t, out var local) ? local
        : KnownRemoteTypes.TryGetValue(t, out var remote) ? remote
        : $"0x{t:X}";

    /// <summary>The decision: in place for <see cref="InPlaceMode.Always"/>, or for Auto on a local-disk root.</summary>
    public static bool ServesInPlace(InPlaceMode mode, string root) => mode switch
    {
        InPlaceMode.Always => true,
        InPlaceMode.Never => false,
        _ => IsLocal(TypeOf(root)),
    };

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatFs(string path, long* buffer);
}
