namespace WarpDrive.Fuse;

/// <summary>What the kernel needs to know about an inode (it becomes <c>struct fuse_attr</c>).</summary>
public readonly record struct FileAttributes
{
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFLNK = 0xA000;

    public ulong Ino { get; init; }
    public ulong Size { get; init; }
    /// <summary>Modification time; used for atime and ctime too since the tree is read-only.</summary>
    public DateTimeOffset MTime { get; init; }
    /// <summary>Full st_mode: type bits and permission bits.</summary>
    public uint Mode { get; init; }
    public uint NLink { get; init; }
    public uint Uid { get; init; }
    public uint Gid { get; init; }
    public uint BlockSize { get; init; }

    public bool IsDirectory => (Mode & 0xF000) == S_IFDIR;

    public static FileAttributes Directory(ulong ino, DateTimeOffset mtime, uint permissions = 0x16D /* 0555 */) =>
        new() { Ino = ino, Mode = S_IFDIR | permissions, NLink = 2, MTime = mtime, BlockSize = 4096 };

    public static FileAttributes File(ulong ino, ulong size, DateTimeOffset mtime, uint permissions = 0x124 /* 0444 */) =>
        new() { Ino = ino, Size = size, Mode = S_IFREG | permissions, NLink = 1, MTime = mtime, BlockSize = 1 << 20 };
}

/// <summary>The answer to LOOKUP (and each READDIRPLUS entry): a node id, its attributes and how long the kernel may cache them.</summary>
public readonly record struct FuseEntry(ulong NodeId, ulong Generation, FileAttributes Attributes, TimeSpan EntryTimeout, TimeSpan AttributeTimeout);

/// <summary>The answer to GETATTR.</summary>
public readonly record struct FuseAttributesReply(FileAttributes Attributes, TimeSpan Timeout);

/// <summary>Flags of an OPEN/OPENDIR answer (FOPEN_* in fuse_kernel.h).</summary>
[Flags]
public enum FuseOpenFlags : uint
{
    None = 0,
    DirectIo = 1 << 0,
    /// <summary>Keep the kernel page cache of this inode: the content has not changed since it was cached.</summary>
    KeepCache = 1 << 1,
    NonSeekable = 1 << 2,
    /// <summary>Let the kernel cache this directory's READDIR results.</summary>
    CacheDir = 1 << 3,
    Stream = 1 << 4,
    NoFlush = 1 << 5,
    /// <summary>The kernel reads the backing file given by <see cref="FuseOpenReply.BackingId"/> itself.</summary>
    Passthrough = 1 << 7,
}

/// <summary>The answer to OPEN/OPENDIR: a handle of the filesystem's choosing and open flags.</summary>
public readonly record struct FuseOpenReply(ulong Handle, FuseOpenFlags Flags, int BackingId = 0);

/// <summary>The answer to STATFS.</summary>
public readonly record struct FuseStatFs(ulong Blocks, ulong BlocksFree, ulong BlocksAvailable, ulong Files, ulong FilesFree, uint BlockSize, uint NameLength);

/// <summary>Who is asking: taken from the request header.</summary>
public readonly record struct FuseRequestContext(uint Uid, uint Gid, uint Pid);
