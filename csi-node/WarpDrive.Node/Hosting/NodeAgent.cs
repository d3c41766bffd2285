using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.Cache;
using WarpDrive.Config;
using WarpDrive.FileSystem;
using WarpDrive.Fuse;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// One mounted WarpDrive tree: the backends of a <see cref="NodeConfig"/>, the content source (block cache
/// or direct), the filesystem and the FUSE server, started and stopped together. Owns everything it creates.
/// </summary>
public sealed class NodeAgent : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly List<IBackend> _backends;
    private readonly IContentSource _content;
    private readonly FuseServer _server;

    private NodeAgent(ILogger logger, List<IBackend> backends, IContentSource content, FuseServer server)
    {
        _logger = logger;
        _backends = backends;
        _content = content;
        _server = server;
    }

    /// <summary>Completes when the kernel connection ends (unmounted from outside, or aborted).</summary>
    public Task Completion => _server.Completion;

    public string MountPoint => _server.MountPoint;

    /// <summary>Creates the backends and mounts. Throws <see cref="FuseMountException"/> or <see cref="ArgumentException"/> (bad backend settings).</summary>
    public static async Task<NodeAgent> StartAsync(NodeConfig config, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger<NodeAgent>();
        var backends = new List<IBackend>();
        IContentSource? content = null;
        try
        {
            var services = new BackendServices { LoggerFactory = loggers };
            var mounts = new List<BackendMount>();
            foreach (var backend in config.Backends)
            {
                var created = BackendFactory.Create(backend.Name, backend.Type, backend.Config, services);
                backends.Add(created);
                mounts.Add(new BackendMount(backend.MountPath, created));
            }

            content = ContentSources.Create(config.Cache, loggers);
            var fileSystem = new WarpFileSystem(FileSystemOptionsFrom(config), mounts, content, loggers.CreateLogger<WarpFileSystem>());
            var server = FuseServer.Mount(fileSystem, FuseOptionsFrom(config), loggers.CreateLogger<FuseServer>());
            logger.LogInformation("mounted {MountPoint} with {Count} backend(s): {Backends}", server.MountPoint, mounts.Count,
                string.Join(", ", config.Backends.Select(b => $"{b.Name} ({b.Type}) at {b.MountPath}")));
            return new NodeAgent(logger, backends, content, server);
        }
        catch
        {
            await DisposeAllAsync(backends, content).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Unmounts, waits for in-flight requests, then releases the cache and backends.</summary>
    public async ValueTask DisposeAsync()
    {
        _logger.LogInformation("unmounting {MountPoint}", _server.MountPoint);
        await _server.DisposeAsync().ConfigureAwait(false);
        await DisposeAllAsync(_backends, _content).ConfigureAwait(false);
    }

    private static async Task DisposeAllAsync(List<IBackend> backends, IContentSource? content)
    {
        if (content is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var backend in backends)
        {
            await backend.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static FileSystemOptions FileSystemOptionsFrom(NodeConfig config) => new()
    {
        EntryTtl = config.Fuse.EntryTtl,
        AttrTtl = config.Fuse.AttrTtl,
        NegativeTtl = config.Fuse.NegativeTtl,
        DirCacheEntries = config.Fuse.DirCacheEntries,
        DirCacheTtl = config.Fuse.DirCacheTtl,
        StatTtl = config.Cache.StatTtl,
        NodeIdStatePath = Path.Combine(config.Cache.Path, "node-ids"),
    };

    private static FuseMountOptions FuseOptionsFrom(NodeConfig config) => new()
    {
        MountPoint = config.MountPoint,
        AllowOther = config.AllowOther,
        Debug = config.FuseDebug,
        Workers = config.Fuse.Workers,
        MaxBackground = (ushort)config.Fuse.MaxBackground,
        RequestPassthrough = config.Cache.Enabled && config.Cache.Passthrough == PassthroughModes.Auto,
        Method = config.Fuse.MountHelper switch
        {
            MountHelpers.Mount => MountMethod.Syscall,
            MountHelpers.Fusermount3 => MountMethod.Fusermount,
            _ => MountMethod.Auto,
        },
    };
}
