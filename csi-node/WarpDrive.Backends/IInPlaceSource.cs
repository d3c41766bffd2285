using Microsoft.Win32.SafeHandles;

namespace WarpDrive.Backends;

/// <summary>
/// A backend whose objects are already files on this node's local disk: a second copy in the node cache would
/// only cost a write and disk space, so the cache serves such files in place (FUSE passthrough straight to the
/// source file, or direct reads) when <see cref="ServesInPlace"/> is true.
/// </summary>
public interface IInPlaceSource
{
    /// <summary>True when reads should go to the source files instead of through the node cache.</summary>
    bool ServesInPlace { get; }

    /// <summary>
    /// Opens the source file of <paramref name="path"/> read-only for the kernel to read directly, only if it is
    /// still the version <paramref name="expectedETag"/> (checked on the opened handle) and lies inside the root.
    /// Null when it is not (changed, gone, not a regular file): the caller then serves reads itself.
    /// </summary>
    SafeFileHandle? TryOpenVersion(string path, string expectedETag);
}
