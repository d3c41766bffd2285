using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.Cache;
using WarpDrive.Config;
using WarpDrive.Fuse;
using WarpDrive.Telemetry;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// The standalone agent's mounted tree: the node's content source (block cache or direct) and one
/// <see cref="FuseTree"/> with every backend of the <see cref="NodeConfig"/>, started and stopped together.
/// Owns everything it creates.
/// </summary>
public sealed class NodeAgent : IAsyncDisposable
{
    private readonly IContentSource _content;
    private readonly IAccessRecorder _access;
    private readonly FuseTree _tree;

    private NodeAgent(IContentSource content, IAccessRecorder access, FuseTree tree)
    {
        _content = content;
        _access = access;
        _tree = tree;
    }

    /// <summary>Completes when the kernel connection ends (unmounted from outside, or aborted).</summary>
    public Task Completion => _tree.Completion;

    public string MountPoint => _tree.MountPoint;

    /// <summary>The content source, for metrics and health checks.</summary>
    public IContentSource Content => _content;

    /// <summary>Creates the backends and mounts. Throws <see cref="FuseMountException"/> or <see cref="ArgumentException"/> (bad backend settings).</summary>
    public static Task<NodeAgent> StartAsync(NodeConfig config, ILoggerFactory loggers) => StartAsync(config, loggers, wrap: null);

    /// <summary>As <see cref="StartAsync(NodeConfig, ILoggerFactory)"/>, each backend wrapped by <paramref name="wrap"/> (e.g. for metrics).</summary>
    public static async Task<NodeAgent> StartAsync(NodeConfig config, ILoggerFactory loggers, Func<IBackend, IBackend>? wrap)
    {
        var content = ContentSources.Create(config.Cache, loggers);
        var access = TelemetryPipeline.Create(config.Telemetry, loggers);
        try
        {
            var tree = await FuseTree.MountAsync(config, config.Backends, config.MountPoint, content, loggers, wrap, access).ConfigureAwait(false);
            return new NodeAgent(content, access, tree);
        }
        catch
        {
            await DisposeAccessAsync(access).ConfigureAwait(false);
            await ContentSources.DisposeAsync(content).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Drops the tree's listing and metadata caches (SIGHUP, <c>POST /admin/drop-caches</c>); see <see cref="WarpDrive.FileSystem.WarpFileSystem.DropCaches"/>.</summary>
    public void DropCaches() => _tree.FileSystem.DropCaches();

    /// <summary>Unmounts, waits for in-flight requests, then releases the cache and backends.</summary>
    public async ValueTask DisposeAsync()
    {
        await _tree.DisposeAsync().ConfigureAwait(false);
        await DisposeAccessAsync(_access).ConfigureAwait(false); // drains queued events to the sink
        await ContentSources.DisposeAsync(_content).ConfigureAwait(false);
    }

    private static ValueTask DisposeAccessAsync(IAccessRecorder access) =>
        access is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;
}
