namespace WarpDrive.Fuse;

/// <summary>Linux errno values a filesystem may answer with (x86-64 and arm64 share them).</summary>
public enum Errno
{
    Ok = 0,
    EPERM = 1,
    ENOENT = 2,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EBUSY = 16,
    EEXIST = 17,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    EFBIG = 27,
    ENOSPC = 28,
    EROFS = 30,
    ERANGE = 34,
    ENAMETOOLONG = 36,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ENODATA = 61,
    EOPNOTSUPP = 95,
    ETIMEDOUT = 110,
    /// <summary>A node id the filesystem no longer knows (e.g. after a restart): the kernel drops it and looks the name up again.</summary>
    ESTALE = 116,
}
