namespace WarpDrive.Bench.Targets;

/// <summary>
/// Something the workloads read the dataset through: the source directory itself, or a FUSE mount of a copy of
/// it. A target owns its server process and cache, and knows how to make a run cold or hot.
/// </summary>
internal interface ITarget : IDisposable
{
    /// <summary>Short name used in tables and charts (native, warpdrive-s3, rclone-mount, ...).</summary>
    string Name { get; }

    /// <summary>Round trip between the client and its remote server in ms; null for targets that read local disk.</summary>
    int? RttMs { get; }

    /// <summary>The directory where the dataset's top level (shards/, epoch/, meta/) appears.</summary>
    string Root { get; }

    /// <summary>The PID of the process serving reads, whose CPU and memory are reported; null for native.</summary>
    int? ServingPid { get; }

    /// <summary>True for WarpDrive mounts, whose /metrics are scraped.</summary>
    bool IsWarpDrive { get; }

    /// <summary>Empty every cache of this target (fresh mount, empty block cache) and drop the page cache.</summary>
    void MakeCold();

    /// <summary>Before a hot run: mounts drop the page cache so their own cache serves; native keeps it.</summary>
    void MakeHot();

    /// <summary>Highest VmHWM of any serving process this target has run so far, in MiB.</summary>
    double PeakRssMiB();
}
