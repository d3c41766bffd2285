using Microsoft.Extensions.Logging;
using WarpDrive.Config;

namespace WarpDrive.Csi;

/// <summary>
/// One FUSE mount per data source per node, at <c>&lt;mounts-dir&gt;/&lt;source&gt;</c>, shared by every published
/// volume of that source and reference-counted by target path. The last release starts a grace period; a publish
/// within it reuses the mount. Also where a reloaded config lands (<see cref="ApplyConfig"/>).
/// A source that reads with each pod's identity (<c>auth.source: pod</c>) has one mount per pod instead, at
/// <c>&lt;source&gt;@&lt;pod uid&gt;</c> (<see cref="KeyOf"/>; '@' is in no backend name): it holds that pod's
/// credentials, so it goes at once when the pod's last volume is unpublished, without a grace period.
/// </summary>
/// <remarks>
/// One async gate serializes mount-table changes: they are rare control-plane events (a pod starting or
/// stopping), and a single gate makes "mount once" and "release after the last user" obviously correct. Reads
/// through the mounts never touch it.
/// </remarks>
public sealed class SourceMounts : IAsyncDisposable
{
    private readonly IMounter _mounter;
    private readonly string _mountsDirectory;
    private readonly TimeSpan _grace;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, SourceState> _sources = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _keysOfUsers = new(StringComparer.Ordinal);
    private volatile NodeConfig _config;

    public SourceMounts(IMounter mounter, NodeConfig config, string mountsDirectory, TimeSpan grace, ILogger logger)
    {
        _mounter = mounter;
        _config = config;
        _mountsDirectory = Path.GetFullPath(mountsDirectory);
        _grace = grace;
        _logger = logger;
    }

    public NodeConfig Config => _config;

    /// <summary>The data source named <paramref name="name"/> in the current config, or null.</summary>
    public BackendConfig? Find(string name) => _config.Backends.FirstOrDefault(b => b.Name == name);

    /// <summary>Where the mount of <paramref name="key"/> (a source name, or <see cref="KeyOf"/> a source and a pod) is or would be.</summary>
    public string MountPointOf(string key) => Path.Combine(_mountsDirectory, key);

    /// <summary>The mount's key: the source's name, or <c>&lt;source&gt;@&lt;pod uid&gt;</c> for a pod's own mount.</summary>
    public static string KeyOf(string source, string? podUid) => podUid is null ? source : $"{source}@{podUid}";

    /// <summary>The source and pod a mount key names (see <see cref="KeyOf"/>).</summary>
    public static (string Source, string? PodUid) ParseKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var at = key.IndexOf('@', StringComparison.Ordinal);
        return at < 0 ? (key, null) : (key[..at], key[(at + 1)..]);
    }

    /// <summary>Mount points currently served, for health checks.</summary>
    public IReadOnlyList<string> MountedPoints
    {
        get
        {
            lock (_sources)
            {
                return [.. _sources.Where(s => s.Value.Served is not null).Select(s => MountPointOf(s.Key))];
            }
        }
    }

    /// <summary>Number of publications holding the mount of <paramref name="key"/> (a source name, or a source and pod).</summary>
    public int UsersOf(string key)
    {
        lock (_sources)
        {
            return _sources.TryGetValue(key, out var state) ? state.Users.Count : 0;
        }
    }

    /// <summary>
    /// Records <paramref name="user"/> (a target path) as using <paramref name="source"/>, mounting it first when
    /// needed. Returns the directory inside the FUSE tree where the source's backend appears. For a source that
    /// reads with the pod's identity, <paramref name="podUid"/> picks the pod's own mount and
    /// <paramref name="credentials"/> (absent only when a restart re-learns a publication) are granted to it.
    /// </summary>
    public async Task<string> AcquireAsync(BackendConfig source, string user, long? readaheadBytes, CancellationToken cancellationToken,
        string? podUid = null, PodCredentials? credentials = null)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var key = KeyOf(source.Name, podUid);
            var state = StateOf(key);
            state.PendingRelease?.Cancel();
            state.PendingRelease = null;
            if (state.Served is not null && credentials is not null)
            {
                GrantLocked(state, credentials);
            }

            if (state.Served is null)
            {
                var mountPoint = MountPointOf(key);
                Directory.CreateDirectory(mountPoint);
                if (_mounter.IsMountPoint(mountPoint))
                {
                    // Left by an earlier run of the plugin: its server is gone, so the mount is dead.
                    _logger.LogWarning("replacing a stale mount at {MountPoint}", mountPoint);
                    _mounter.Unmount(mountPoint);
                }

                state.Served = await _mounter.MountSourceAsync(new SourceMountRequest(source, mountPoint, readaheadBytes, podUid) { Credentials = credentials },
                    cancellationToken).ConfigureAwait(false);
                state.Backend = source;
                state.PodUid = podUid;
                state.Stale = false;
                _logger.LogInformation("mounted data source {Source} at {MountPoint}{ForPod}", source.Name, mountPoint,
                    credentials is not null ? $" with the identity of {credentials}" : podUid is not null ? $" for pod {podUid} (its credentials come with kubelet's republish)" : "");
            }

            lock (_sources)
            {
                state.Users.Add(user);
                _keysOfUsers[user] = key;
            }

            return MountPointOf(key) + state.Backend!.MountPath;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// A republish of <paramref name="user"/>'s volume brought the pod's credentials again (kubelet refreshes tokens
    /// that way): the pod's mount takes them; a newer token is what its next fetch exchanges.
    /// </summary>
    public async Task RenewAsync(string user, PodCredentials credentials, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            SourceState? state = null;
            lock (_sources)
            {
                if (_keysOfUsers.TryGetValue(user, out var key))
                {
                    _sources.TryGetValue(key, out state);
                }
            }

            if (state?.Served is not null)
            {
                GrantLocked(state, credentials);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets <paramref name="user"/>; the last one out starts the grace period (or unmounts a stale source, or a pod's own mount, now).</summary>
    public async Task ReleaseAsync(string source, string user)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            string key;
            lock (_sources)
            {
                key = _keysOfUsers.Remove(user, out var known) ? known : source;
            }

            if (!_sources.TryGetValue(key, out var state))
            {
                return;
            }

            lock (_sources)
            {
                state.Users.Remove(user);
            }

            await ReleaseIfUnusedLockedAsync(key, state).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Serves <paramref name="source"/> from a mount this process did not make: a live connection taken over at start
    /// (from the fd holder), at <see cref="MountPointOf"/> its key. It has no users until publications acquire it.
    /// </summary>
    public async Task AdoptAsync(BackendConfig source, IAsyncDisposable served, string? podUid = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var state = StateOf(KeyOf(source.Name, podUid));
            state.Served = served;
            state.Backend = source;
            state.PodUid = podUid;
            state.Stale = false;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>After the start's recovery: a mount no publication holds (adopted, its pods gone meanwhile) starts its grace period.</summary>
    public async Task ReleaseUnusedAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var (name, state) in _sources.ToList())
            {
                if (state.PendingRelease is null)
                {
                    await ReleaseIfUnusedLockedAsync(name, state).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Takes a newly loaded config. New sources become mountable at once. A removed source is refused for new
    /// publishes (<see cref="Find"/>) and unmounted when unused. A source whose backend settings changed is
    /// unmounted now when unused; when in use it keeps serving the old settings until its last user leaves, and
    /// the next publish after that mounts the new ones. Tenancy-only changes apply to the next publish.
    /// </summary>
    public async Task ApplyConfig(NodeConfig config)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            _config = config;
            foreach (var (name, state) in _sources.ToList())
            {
                if (state.Served is null || state.Backend is null)
                {
                    continue;
                }

                var next = config.Backends.FirstOrDefault(b => b.Name == state.Backend.Name);
                if (next is not null && SameBackend(next, state.Backend))
                {
                    continue;
                }

                state.Stale = true;
                var why = next is null ? "removed from the config" : "backend settings changed";
                if (state.Users.Count == 0)
                {
                    state.PendingRelease?.Cancel();
                    await UnmountLockedAsync(name, state, why).ConfigureAwait(false);
                }
                else
                {
                    _logger.LogInformation("data source {Source} {Why}; it keeps serving {Users} published volume(s) and is remounted after they go", name, why, state.Users.Count);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Backend settings that need a remount to change; namespace and allowed_namespaces do not.</summary>
    public static bool SameBackend(BackendConfig a, BackendConfig b) =>
        a.Type == b.Type && a.MountPath == b.MountPath && a.Auth.Method == b.Auth.Method && a.Auth.Source == b.Auth.Source
        && SameMap(a.Config, b.Config) && SameMap(a.Auth.Settings, b.Auth.Settings);

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            foreach (var (name, state) in _sources.ToList())
            {
                state.PendingRelease?.Cancel();
                if (state.Served is not null)
                {
                    await UnmountLockedAsync(name, state, "the plugin is stopping").ConfigureAwait(false);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ReleaseAfterGraceAsync(string source, SourceState state, CancellationTokenSource pending)
    {
        try
        {
            await Task.Delay(_grace, pending.Token).ConfigureAwait(false);
            await _gate.WaitAsync(pending.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // a publish came back within the grace period
        }

        try
        {
            if (state.PendingRelease == pending && state.Users.Count == 0 && state.Served is not null)
            {
                await UnmountLockedAsync(source, state, $"unused for {_grace.TotalSeconds:0.#}s").ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            _logger.LogError("could not unmount data source {Source}: {Error}", source, e.Message);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ReleaseIfUnusedLockedAsync(string source, SourceState state)
    {
        if (state.Users.Count > 0 || state.Served is null)
        {
            return;
        }

        if (state.Stale || state.PodUid is not null || _grace <= TimeSpan.Zero)
        {
            var why = state.Stale ? "its settings changed or it was removed" : state.PodUid is not null ? "its pod's last volume is gone: its credentials go with it" : "no longer used";
            await UnmountLockedAsync(source, state, why).ConfigureAwait(false);
            return;
        }

        var pending = new CancellationTokenSource();
        state.PendingRelease = pending;
        _ = ReleaseAfterGraceAsync(source, state, pending);
    }

    private async Task UnmountLockedAsync(string name, SourceState state, string why)
    {
        var served = state.Served!;
        state.Served = null;
        state.PendingRelease = null;
        lock (_sources)
        {
            _sources.Remove(name);
        }

        _logger.LogInformation("unmounting data source {Source} ({Why})", name, why);
        await served.DisposeAsync().ConfigureAwait(false);
    }

    private void GrantLocked(SourceState state, PodCredentials credentials)
    {
        if (state.Served is IPodIdentityTree tree)
        {
            tree.Grant(credentials);
        }
        else
        {
            _logger.LogWarning("the mount of {Source} does not read with a pod's identity; the credentials of {Pod} were not used", state.Backend?.Name, credentials);
        }
    }

    private SourceState StateOf(string name)
    {
        lock (_sources)
        {
            if (!_sources.TryGetValue(name, out var state))
            {
                _sources[name] = state = new SourceState();
            }

            return state;
        }
    }

    private static bool SameMap(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(e => b.TryGetValue(e.Key, out var v) && v == e.Value);

    private sealed class SourceState
    {
        public BackendConfig? Backend { get; set; }

        public IAsyncDisposable? Served { get; set; }

        /// <summary>The pod whose identity this mount reads with; null for the source's shared mount.</summary>
        public string? PodUid { get; set; }

        /// <summary>The config changed under it: unmount when unused instead of waiting out the grace period.</summary>
        public bool Stale { get; set; }

        public HashSet<string> Users { get; } = new(StringComparer.Ordinal);

        public CancellationTokenSource? PendingRelease { get; set; }
    }
}
