namespace WarpDrive.Fuse.Native;

/// <summary>/dev/fuse ioctl numbers (FUSE_DEV_IOC_* in fuse.h), computed with the kernel's _IOR/_IOW encoding.</summary>
internal static class FuseIoctl
{
    private const uint Magic = 229;

    /// <summary>_IOR(229, 0, uint32_t): make a new /dev/fuse fd serve the same connection as the given one.</summary>
    public static readonly nuint Clone = Encode(read: true, write: false, 0, sizeof(uint));

    /// <summary>_IOW(229, 1, struct fuse_backing_map): register a file for passthrough; returns a backing id.</summary>
    public static readonly nuint BackingOpen = Encode(read: false, write: true, 1, 16);

    /// <summary>_IOW(229, 2, uint32_t): release a backing id.</summary>
    public static readonly nuint BackingClose = Encode(read: false, write: true, 2, sizeof(uint));

    private static nuint Encode(bool read, bool write, uint number, uint size)
    {
        // Linux generic ioctl layout: dir (2 bits, write=1 read=2) | size (14 bits) | type (8 bits) | nr (8 bits).
        var direction = (write ? 1u : 0u) | (read ? 2u : 0u);
        return (direction << 30) | (size << 16) | (Magic << 8) | number;
    }
}
