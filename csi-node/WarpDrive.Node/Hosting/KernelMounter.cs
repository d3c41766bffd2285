using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using WarpDrive.Auth.Pods;
using BackendConfig = WarpDrive.Config.BackendConfig;
using WarpDrive.Backends;
using WarpDrive.Cache;
using WarpDrive.Config;
using WarpDrive.Csi;
using WarpDrive.Fuse.Handover;
using WarpDrive.Telemetry;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// The real <see cref="IMounter"/>: a data source becomes a <see cref="FuseTree"/> over the node's shared content
/// source and access recorder; bind mounts and unmounts are mount(2)/umount2(2) (<see cref="BindMounts"/>). With an
/// fd <paramref name="holder"/>, every tree keeps a session journal and is held there while it is mounted, so a crash
/// of this process does not end it.
/// </summary>
public sealed class KernelMounter(Func<NodeConfig> config, IContentSource content, IAccessRecorder access, ILoggerFactory loggers, Func<IBackend, IBackend>? wrap,
    HolderLink? holder = null) : IMounter
{
    private readonly ILogger _logger = loggers.CreateLogger<KernelMounter>();
    private readonly ConcurrentDictionary<string, FuseTree> _trees = new(StringComparer.Ordinal);

    /// <summary>The trees mounted now (what the holder must keep).</summary>
    public IReadOnlyCollection<FuseTree> Trees => [.. _trees.Values];

    public async Task<IAsyncDisposable> MountSourceAsync(SourceMountRequest request, CancellationToken cancellationToken)
    {
        var served = await ServeAsync(request, held: null).ConfigureAwait(false);
        if (request.ReadaheadBytes is { } readahead)
        {
            SetReadahead(request.MountPoint, readahead);
        }

        return served;
    }

    /// <summary>Serves a live connection of <paramref name="request"/>'s mount point taken from an fd holder (its readahead setting is the kernel's, kept).</summary>
    public Task<IAsyncDisposable> AdoptAsync(SourceMountRequest request, HeldConnection held) => ServeAsync(request, held);

    private async Task<IAsyncDisposable> ServeAsync(SourceMountRequest request, HeldConnection? held)
    {
        var nodeConfig = config();
        PodIdentityBackend? podBackend = null;
        Func<BackendConfig, BackendServices, IBackend>? create = null;
        if (request.PodUid is not null)
        {
            var index = IndexOf(nodeConfig, request.Backend);
            create = (backend, services) =>
            {
                podBackend = new PodIdentityBackend(backend, index, services);
                if (request.Credentials is { } first)
                {
                    podBackend.Grant(GrantOf(first)); // before the tree serves: its first lookups already read as the pod
                }

                return podBackend;
            };
        }

        var tree = await FuseTree.MountAsync(nodeConfig, [request.Backend], request.MountPoint, content, loggers, wrap, access, held, keepJournal: holder is not null,
            createBackend: create).ConfigureAwait(false);
        IAsyncDisposable served = podBackend is null ? tree : new PodTree(tree, podBackend, holder is null ? null : this);
        if (holder is null)
        {
            return served;
        }

        _trees[tree.MountPoint] = tree;
        if (holder.Current is { } client)
        {
            try
            {
                client.Hold(tree.MountPoint, tree.Export());
            }
            catch (IOException e)
            {
                _logger.LogWarning("could not hand {MountPoint} to the fd holder: {Error}; a crash of this agent would end it", tree.MountPoint, e.Message);
            }
        }

        return served as PodTree ?? (IAsyncDisposable)new HeldTree(tree, this);
    }

    /// <summary>The source's position in the node config, which names config keys in errors (<c>backends[i].auth.role_arn</c>).</summary>
    private static int IndexOf(NodeConfig nodeConfig, BackendConfig backend) => nodeConfig.Backends.ToList().FindIndex(b => b.Name == backend.Name);

    private static PodCredentialGrant GrantOf(PodCredentials credentials) =>
        new(new PodIdentity(credentials.Pod.Namespace, credentials.Pod.Name, credentials.Pod.Uid, credentials.Pod.ServiceAccount), credentials.Token, credentials.Annotations);

    /// <summary>Unmounting on purpose: the holder must not keep (or hand on) the connection.</summary>
    private async ValueTask ReleaseAsync(FuseTree tree)
    {
        _trees.TryRemove(tree.MountPoint, out _);
        try
        {
            holder?.Current?.Drop(tree.MountPoint);
        }
        catch (IOException e)
        {
            _logger.LogWarning("could not tell the fd holder that {MountPoint} is unmounted: {Error}", tree.MountPoint, e.Message);
        }

        await tree.DisposeAsync().ConfigureAwait(false);
    }

    public void BindMountReadOnly(string source, string target) => BindMounts.BindReadOnly(source, target);

    public void Unmount(string target) => BindMounts.Unmount(target);

    public bool IsMountPoint(string path) => MountTable.IsMountPoint(path);

    private sealed class HeldTree(FuseTree tree, KernelMounter mounter) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => mounter.ReleaseAsync(tree);
    }

    /// <summary>A pod's own tree: takes the pod's renewed credentials; disposing it unmounts and forgets them (the tree owns its backend).</summary>
    private sealed class PodTree(FuseTree tree, PodIdentityBackend backend, KernelMounter? mounter) : IAsyncDisposable, IPodIdentityTree
    {
        public void Grant(PodCredentials credentials) => backend.Grant(GrantOf(credentials));

        public ValueTask DisposeAsync() => mounter is null ? tree.DisposeAsync() : mounter.ReleaseAsync(tree);
    }

    /// <summary>
    /// Kernel readahead is per backing device: a FUSE mount's is /sys/class/bdi/&lt;major:minor&gt;/read_ahead_kb.
    /// Best effort: a failure is logged, never fatal (the mount works with the default).
    /// </summary>
    private void SetReadahead(string mountPoint, long bytes)
    {
        var entry = MountTable.Find(mountPoint);
        var file = $"/sys/class/bdi/{entry?.Device}/read_ahead_kb";
        try
        {
            File.WriteAllText(file, (bytes / 1024).ToString(CultureInfo.InvariantCulture));
            _logger.LogInformation("readahead of {MountPoint} set to {KiB} KiB", mountPoint, bytes / 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("could not set readahead of {MountPoint} via {File}: {Error}", mountPoint, file, e.Message);
        }
    }
}
