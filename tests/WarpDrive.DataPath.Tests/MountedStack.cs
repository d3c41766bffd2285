using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Backends.Local;
using WarpDrive.Cache;
using WarpDrive.FileSystem;
using WarpDrive.Fuse;

namespace WarpDrive.DataPath.Tests;

/// <summary>
/// A source directory served through LocalBackend (with optional added latency), the block cache, the
/// filesystem and a real FUSE mount, all in this process. Dispose unmounts and deletes everything.
/// </summary>
internal sealed class MountedStack : IAsyncDisposable
{
    private readonly string _root;

    private MountedStack(string root, LatencyInjectingBackend backend, BlockCache cache, WarpFileSystem fileSystem, FuseServer server)
    {
        _root = root;
        Backend = backend;
        Cache = cache;
        FileSystem = fileSystem;
        Server = server;
    }

    public string Source => Path.Combine(_root, "source");

    public string CacheDirectory => Path.Combine(_root, "cache");

    /// <summary>The directory in the mount that shows <see cref="Source"/>.</summary>
    public string Mounted => Path.Combine(_root, "mnt", "data");

    public LatencyInjectingBackend Backend { get; }

    public BlockCache Cache { get; }

    public WarpFileSystem FileSystem { get; }

    public FuseServer Server { get; }

    public static MountedStack Create(Action<string> populate, TimeSpan readLatency = default, long cacheSize = 1L << 30, int blockSize = 1 << 20, TimeSpan? ttl = null,
        InPlaceMode inPlace = InPlaceMode.Never, bool passthrough = true)
    {
        var root = Directory.CreateTempSubdirectory("wd-datapath-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "source"));
        Directory.CreateDirectory(Path.Combine(root, "mnt"));
        populate(Path.Combine(root, "source"));
        var backend = new LatencyInjectingBackend(new LocalBackend("data", Path.Combine(root, "source"), inPlace: inPlace), readLatency);
        var cache = new BlockCache(new BlockCacheOptions(Path.Combine(root, "cache"), cacheSize) { BlockSize = blockSize }, NullLogger.Instance);
        var times = ttl ?? TimeSpan.FromSeconds(30);
        var fileSystem = new WarpFileSystem(
            new FileSystemOptions { EntryTtl = times, AttrTtl = times, StatTtl = times, DirCacheTtl = times },
            [new BackendMount("/data", backend)],
            cache,
            NullLogger.Instance);
        var server = FuseServer.Mount(fileSystem, new FuseMountOptions { MountPoint = Path.Combine(root, "mnt"), RequestPassthrough = passthrough }, NullLogger.Instance);
        return new MountedStack(root, backend, cache, fileSystem, server);
    }

    public static void DropPageCache()
    {
        File.WriteAllText("/proc/sys/vm/drop_caches", "3");
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Cache.DisposeAsync();
        await Backend.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
