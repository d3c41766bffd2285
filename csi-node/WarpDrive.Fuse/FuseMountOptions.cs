namespace WarpDrive.Fuse;

/// <summary>How to mount: mount(2) needs CAP_SYS_ADMIN; fusermount3 is the setuid helper for everyone else.</summary>
public enum MountMethod
{
    /// <summary>mount(2) when running as root, otherwise fusermount3.</summary>
    Auto,
    /// <summary>mount(2) directly.</summary>
    Syscall,
    /// <summary>fusermount3, receiving the /dev/fuse fd over a socketpair.</summary>
    Fusermount,
}

/// <summary>Everything the protocol layer needs to mount and serve one filesystem.</summary>
public sealed record FuseMountOptions
{
    public required string MountPoint { get; init; }

    /// <summary>The "device" column of /proc/mounts.</summary>
    public string FsName { get; init; } = "warpdrive";

    /// <summary>Shown as the type fuse.&lt;subtype&gt;.</summary>
    public string Subtype { get; init; } = "warpdrive";

    /// <summary>Let users other than the mounter see the tree (needs user_allow_other for fusermount3).</summary>
    public bool AllowOther { get; init; }

    /// <summary>Threads reading requests, each on its own cloned /dev/fuse fd.</summary>
    public int Workers { get; init; } = 4;

    /// <summary>Asynchronous (readahead) requests the kernel may have outstanding at once.</summary>
    public ushort MaxBackground { get; init; } = 64;

    /// <summary>Largest read the kernel sends, in 4 KiB pages (256 = 1 MiB).</summary>
    public ushort MaxPages { get; init; } = 256;

    /// <summary>Ask the kernel for FUSE passthrough (needs CAP_SYS_ADMIN and a kernel ≥ 6.9).</summary>
    public bool RequestPassthrough { get; init; }

    public MountMethod Method { get; init; } = MountMethod.Auto;

    /// <summary>Log every request and reply (very verbose).</summary>
    public bool Debug { get; init; }
}
