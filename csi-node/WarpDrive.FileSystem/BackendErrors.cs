using WarpDrive.Backends;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem;

/// <summary>The one place backend failures become errno values.</summary>
internal static class BackendErrors
{
    public static Errno ToErrno(BackendErrorKind kind) => kind switch
    {
        BackendErrorKind.NotFound => Errno.ENOENT,
        BackendErrorKind.AccessDenied => Errno.EACCES,
        BackendErrorKind.Throttled => Errno.EAGAIN,
        _ => Errno.EIO,
    };
}
