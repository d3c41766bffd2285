using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.Cache;
using WarpDrive.Config;
using WarpDrive.Fuse;
using WarpDrive.Fuse.Handover;
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

    /// <summary>The mounted tree (its file system, whether it was taken over, what a holder keeps).</summary>
    public FuseTree Tree => _tree;

    /// <summary>The content source, for metrics and health checks.</summary>
    public IContentSource Content => _content;

    /// <summary>Creates the backends and mounts. Throws <see cref="FuseMountException"/> or <see cref="ArgumentException"/> (bad backend settings).</summary>
    public static Task<NodeAgent> StartAsync(NodeConfig config, ILoggerFactory loggers) => StartAsync(config, loggers, wrap: null);

    /// <summary>As <see cref="StartAsync(NodeConfig, ILoggerFactory)"/>, each backend wrapped by <paramref name="wrap"/> (e.g. for metrics).</summary>
    public static Task<NodeAgent> StartAsync(NodeConfig config, ILoggerFactory loggers, Func<IBackend, IBackend>? wrap) =>
        StartAsync(config, loggers, wrap, holder: null);

    /// <summary>
    /// As above; with an fd <paramref name="holder"/>, first takes over the connection it holds for the mount point (the
    /// agent serving it now, if any, lets go and exits), and once serving hands the holder this agent's descriptors and
    /// session journal. Without one, or when the holder has nothing, a dead mount at the mount point is cleared and a
    /// live one refused (<see cref="StaleMounts"/>): never stacked.
    /// </summary>
    public static async Task<NodeAgent> StartAsync(NodeConfig config, ILoggerFactory loggers, Func<IBackend, IBackend>? wrap, FdHolderClient? holder)
    {
        var logger = loggers.CreateLogger<NodeAgent>();
        var taking = System.Diagnostics.Stopwatch.StartNew();
        var held = holder is null ? null : await Task.Run(() => holder.TakeIfMounted(config.MountPoint)).ConfigureAwait(false);
        if (held is null)
        {
            StaleMounts.ClearDead(config.MountPoint, "warpdrive", logger);
        }

        IContentSource content;
        try
        {
            // After a take-over the previous agent may still be letting go of the cache's database lock for a moment.
            content = held is null ? ContentSources.Create(config.Cache, loggers) : await ContentSources.CreateAfterTakeOverAsync(config.Cache, loggers).ConfigureAwait(false);
        }
        catch
        {
            held?.CloseAll();
            throw;
        }

        var access = TelemetryPipeline.Create(config.Telemetry, loggers);
        try
        {
            var tree = await FuseTree.MountAsync(config, config.Backends, config.MountPoint, content, loggers, wrap, access, held, keepJournal: holder is not null).ConfigureAwait(false);
            if (held is not null)
            {
                var (nodes, files) = tree.FileSystem.Restored;
                logger.LogInformation("took over {MountPoint} in {Elapsed} ms ({Nodes} nodes, {Files} open files)", tree.MountPoint, taking.ElapsedMilliseconds, nodes, files);
            }

            if (holder is not null)
            {
                HandToHolder(holder, tree, logger);
            }

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

    private static void HandToHolder(FdHolderClient holder, FuseTree tree, ILogger logger)
    {
        try
        {
            holder.Hold(tree.MountPoint, tree.Export());
            logger.LogInformation("fd holder {Socket} keeps {MountPoint} alive across restarts of this agent", holder.SocketPath, tree.MountPoint);
        }
        catch (IOException e)
        {
            logger.LogWarning("could not hand {MountPoint} to the fd holder: {Error}; a crash of this agent would end the mount", tree.MountPoint, e.Message);
        }
    }

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
