namespace WarpDrive.Fuse.Protocol;

/// <summary>Request opcodes (enum fuse_opcode in the kernel's fuse.h).</summary>
internal enum Opcode : uint
{
    Lookup = 1,
    Forget = 2,
    GetAttr = 3,
    SetAttr = 4,
    ReadLink = 5,
    Symlink = 6,
    MkNod = 8,
    MkDir = 9,
    Unlink = 10,
    RmDir = 11,
    Rename = 12,
    Link = 13,
    Open = 14,
    Read = 15,
    Write = 16,
    StatFs = 17,
    Release = 18,
    FSync = 20,
    SetXattr = 21,
    GetXattr = 22,
    ListXattr = 23,
    RemoveXattr = 24,
    Flush = 25,
    Init = 26,
    OpenDir = 27,
    ReadDir = 28,
    ReleaseDir = 29,
    FSyncDir = 30,
    GetLk = 31,
    SetLk = 32,
    SetLkW = 33,
    Access = 34,
    Create = 35,
    Interrupt = 36,
    BMap = 37,
    Destroy = 38,
    Ioctl = 39,
    Poll = 40,
    NotifyReply = 41,
    BatchForget = 42,
    Fallocate = 43,
    ReadDirPlus = 44,
    Rename2 = 45,
    LSeek = 46,
    CopyFileRange = 47,
    SetupMapping = 48,
    RemoveMapping = 49,
    SyncFs = 50,
    TmpFile = 51,
    Statx = 52,
}

/// <summary>Unsolicited notification codes (enum fuse_notify_code), sent with unique = 0.</summary>
internal enum NotifyCode
{
    InvalidateInode = 2,
    InvalidateEntry = 3,

    /// <summary>FUSE_NOTIFY_RESEND (7.40, kernel 6.9): requeue every request read but not answered, unique | 1 &lt;&lt; 63.</summary>
    Resend = 7,
}

/// <summary>INIT flags (FUSE_* in fuse.h); bits 32..63 travel in the flags2 word.</summary>
[Flags]
internal enum InitFlags : ulong
{
    AsyncRead = 1UL << 0,
    AtomicOTrunc = 1UL << 3,
    BigWrites = 1UL << 5,
    AutoInvalData = 1UL << 12,
    DoReaddirplus = 1UL << 13,
    ReaddirplusAuto = 1UL << 14,
    AsyncDio = 1UL << 15,
    ParallelDirops = 1UL << 18,
    MaxPages = 1UL << 22,
    CacheSymlinks = 1UL << 23,
    NoOpendirSupport = 1UL << 24,
    ExplicitInvalData = 1UL << 25,
    InitExt = 1UL << 30,
    HasExpireOnly = 1UL << 35,
    Passthrough = 1UL << 37,
    NoExportSupport = 1UL << 38,
}
