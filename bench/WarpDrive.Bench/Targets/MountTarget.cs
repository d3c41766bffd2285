namespace WarpDrive.Bench.Targets;

/// <summary>
/// A FUSE client serving the dataset at a mount point with an on-disk cache. Making it cold stops the client,
/// deletes its cache directory, starts it again, has it serve one unrelated object
/// (<see cref="BenchDataset.WarmupObject"/>: its first-request set-up is not what a reader of a long-running mount
/// waits for) and drops the page cache, so nothing read before can help.
/// </summary>
internal abstract class MountTarget : ITarget
{
    private ChildProcess? _server;
    private double _peakRss;

    protected MountTarget(string name, string workDirectory, int? rttMs)
    {
        Name = name;
        RttMs = rttMs;
        Directory = Path.Combine(workDirectory, "targets", rttMs is { } rtt ? $"{name}-{rtt}ms" : name);
        MountPoint = Path.Combine(Directory, "mnt");
        CacheDirectory = Path.Combine(Directory, "cache");
        System.IO.Directory.CreateDirectory(MountPoint);
    }

    public string Name { get; }

    public int? RttMs { get; }

    public abstract string Root { get; }

    public int? ServingPid => _server?.Pid;

    public virtual bool IsWarpDrive => false;

    protected string Directory { get; }

    protected string MountPoint { get; }

    protected string CacheDirectory { get; }

    protected string LogPath => Path.Combine(Directory, "server.log");

    public void MakeCold()
    {
        Stop();
        if (System.IO.Directory.Exists(CacheDirectory))
        {
            System.IO.Directory.Delete(CacheDirectory, recursive: true);
        }

        System.IO.Directory.CreateDirectory(CacheDirectory);
        _server = Start();
        Mounts.WaitFor(MountPoint, _server, TimeSpan.FromSeconds(60));
        var warmup = File.ReadAllBytes(Path.Combine(Root, BenchDataset.WarmupObject));
        if (warmup.Length != BenchDataset.WarmupObjectBytes)
        {
            throw new InvalidOperationException($"{Name}: read {warmup.Length} bytes of {BenchDataset.WarmupObject}, expected {BenchDataset.WarmupObjectBytes}");
        }

        PageCache.TryDrop();
    }

    public void MakeHot() => PageCache.TryDrop();

    public double PeakRssMiB() => Math.Max(_peakRss, _server is null ? 0 : ProcStats.PeakRssMiB(_server.Pid));

    public void Dispose() => Stop();

    /// <summary>Starts the client in the foreground over <see cref="MountPoint"/> and <see cref="CacheDirectory"/>.</summary>
    protected abstract ChildProcess Start();

    private void Stop()
    {
        if (_server is not null)
        {
            _peakRss = Math.Max(_peakRss, ProcStats.PeakRssMiB(_server.Pid));
            _server.Dispose();
            _server = null;
        }

        Mounts.EnsureUnmounted(MountPoint);
    }
}
