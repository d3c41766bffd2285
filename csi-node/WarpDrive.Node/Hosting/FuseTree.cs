using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.Cache;
using WarpDrive.Config;
using WarpDrive.FileSystem;
using WarpDrive.Fuse;
using WarpDrive.Fuse.Handover;
using WarpDrive.Telemetry;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// One FUSE mount serving some backends over a content source it does not own: the node's one block cache is
/// shared by every tree (the standalone agent's single tree, or the CSI plugin's one tree per data source).
/// Owns its backends and FUSE server.
/// </summary>
public sealed class FuseTree : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly List<IBackend> _backends;
    private readonly FuseServer _server;
    private readonly CancellationTokenSource _probing = new();
    private Task _probes = Task.CompletedTask;
    private Microsoft.Win32.SafeHandles.SafeFileHandle? _journal;

    private FuseTree(ILogger logger, List<IBackend> backends, FuseServer server, WarpFileSystem fileSystem)
    {
        _logger = logger;
        _backends = backends;
        _server = server;
        FileSystem = fileSystem;
    }

    public string MountPoint => _server.MountPoint;

    /// <summary>Completes when the kernel connection ends (unmounted from outside, or aborted).</summary>
    public Task Completion => _server.Completion;

    public WarpFileSystem FileSystem { get; }

    /// <summary>Whether this tree took over a live connection instead of mounting.</summary>
    public bool Resumed => _server.Resumed;

    /// <summary>
    /// What an fd holder must keep for this mount to survive this process: every /dev/fuse descriptor and the session
    /// journal (present when the tree was mounted with <c>keepJournal</c>). Duplicates go to the holder; ours stay ours.
    /// </summary>
    public HeldConnection Export() => _server.Export() with { StateFd = _journal is null ? -1 : (int)_journal.DangerousGetHandle() };

    /// <summary>
    /// Creates the backends (each wrapped by <paramref name="wrap"/>, e.g. for metrics) and mounts them at
    /// <paramref name="mountPoint"/>. Throws <see cref="FuseMountException"/> or <see cref="ArgumentException"/>.
    /// </summary>
    /// <param name="held">A live connection of this mount point to serve instead of mounting (from an fd holder).</param>
    /// <param name="keepJournal">Keep a session journal (in a memfd, see <see cref="Export"/>) so a successor can take over.</param>
    /// <param name="createBackend">Makes each backend instead of <c>CredentialFederation.CreateBackend</c> (a pod's own tree).</param>
    public static async Task<FuseTree> MountAsync(NodeConfig config, IReadOnlyList<WarpDrive.Config.BackendConfig> backends, string mountPoint,
        IContentSource content, ILoggerFactory loggers, Func<IBackend, IBackend>? wrap = null, IAccessRecorder? access = null,
        HeldConnection? held = null, bool keepJournal = false, Func<WarpDrive.Config.BackendConfig, BackendServices, IBackend>? createBackend = null)
    {
        var logger = loggers.CreateLogger<FuseTree>();
        var created = new List<IBackend>();
        try
        {
            var services = new BackendServices { LoggerFactory = loggers };
            var mounts = new List<BackendMount>();
            foreach (var backend in backends)
            {
                // Credentials come from the backend's auth method (federated identity); the filesystem never sees them.
                var made = createBackend?.Invoke(backend, services) ?? WarpDrive.Auth.CredentialFederation.CreateBackend(config, backend, services);
                created.Add(made);
                // A backend that reads with a pod's identity checks each open against it (the cache is shared with others).
                mounts.Add(new BackendMount(backend.MountPath, wrap is null ? made : wrap(made)) { AccessCheck = made as IReadAccessCheck });
            }

            var fileSystem = new WarpFileSystem(FileSystemOptionsFrom(config, mountPoint) with
            {
                AccessRecorder = access ?? NullAccessRecorder.Instance,
                Capacity = CapacityOf(content),
            }, mounts, content, loggers.CreateLogger<WarpFileSystem>());
            var journal = keepJournal || held is not null ? MemoryFile.Create("warpdrive-journal") : null;
            if (journal is not null)
            {
                fileSystem.KeepJournal(journal, held is { StateFd: >= 0 } ? MemoryFile.Adopt(held.StateFd) : null);
            }

            var server = held is null
                ? FuseServer.Mount(fileSystem, FuseOptionsFrom(config, mountPoint), loggers.CreateLogger<FuseServer>())
                : FuseServer.Resume(fileSystem, FuseOptionsFrom(config, mountPoint), loggers.CreateLogger<FuseServer>(), held);
            logger.LogInformation("{How} {MountPoint} with {Count} backend(s): {Backends}", held is null ? "mounted" : "took over", server.MountPoint, mounts.Count,
                string.Join(", ", backends.Select(b => $"{b.Name} ({b.Type}) at {b.MountPath}")));
            var tree = new FuseTree(logger, created, server, fileSystem) { _journal = journal };
            var token = tree._probing.Token;
            // Through the unwrapped backends: a probe is not user traffic and stays out of the backend metrics.
            tree._probes = Task.WhenAll(backends.Select((b, i) => Task.Run(() => BackendProbe.RunAsync(b.Name, created[i], logger, token), CancellationToken.None)));
            return tree;
        }
        catch
        {
            await DisposeBackendsAsync(created).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Unmounts, waits for in-flight requests, then releases the backends.</summary>
    public async ValueTask DisposeAsync()
    {
        await _probing.CancelAsync().ConfigureAwait(false);
        await _probes.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _probing.Dispose();
        _logger.LogInformation("unmounting {MountPoint}", _server.MountPoint);
        await _server.DisposeAsync().ConfigureAwait(false);
        _journal?.Dispose();
        await DisposeBackendsAsync(_backends).ConfigureAwait(false);
    }

    private static async Task DisposeBackendsAsync(List<IBackend> backends)
    {
        foreach (var backend in backends)
        {
            await backend.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>statfs of every tree reports the node's one block cache; without a cache there is nothing to report.</summary>
    private static Func<StorageCapacity?>? CapacityOf(IContentSource content) => content is BlockCache cache
        ? () =>
        {
            var stats = cache.Snapshot();
            return new StorageCapacity(stats.MaxSizeBytes, stats.SizeBytes);
        }
        : null;

    private static FileSystemOptions FileSystemOptionsFrom(NodeConfig config, string mountPoint) => new()
    {
        EntryTtl = config.Fuse.EntryTtl,
        AttrTtl = config.Fuse.AttrTtl,
        NegativeTtl = config.Fuse.NegativeTtl,
        DirCacheEntries = config.Fuse.DirCacheEntries,
        DirCacheTtl = config.Fuse.DirCacheTtl,
        StatTtl = config.Cache.StatTtl,
        // Access events name the node: in a DaemonSet NODE_NAME is spec.nodeName (also --node-id's default); the
        // pod's own host name would be the pod's name.
        NodeName = Environment.GetEnvironmentVariable("NODE_NAME") is { Length: > 0 } node ? node : Environment.MachineName,
        // One node-id state file per tree: ids are per mount, and two trees must not share one file.
        NodeIdStatePath = mountPoint == config.MountPoint
            ? Path.Combine(config.Cache.Path, "node-ids")
            : Path.Combine(config.Cache.Path, "node-ids-" + Path.GetFileName(mountPoint)),
    };

    private static FuseMountOptions FuseOptionsFrom(NodeConfig config, string mountPoint) => new()
    {
        MountPoint = mountPoint,
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
