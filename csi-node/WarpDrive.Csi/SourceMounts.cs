using Microsoft.Extensions.Logging;
using WarpDrive.Config;

namespace WarpDrive.Csi;

/// <summary>
/// One FUSE mount per data source per node, at <c>&lt;mounts-dir&gt;/&lt;source&gt;</c>, shared by every published
/// volume of that source and reference-counted by target path. The last release starts a grace period; a publish
/// within it reuses the mount. Also where a reloaded config lands (<see cref="ApplyConfig"/>).
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

    /// <summary>Where source <paramref name="name"/> is (or would be) mounted.</summary>
    public string MountPointOf(string name) => Path.Combine(_mountsDirectory, name);

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

    /// <summary>Number of publications holding source <paramref name="name"/>.</summary>
    public int UsersOf(string name)
    {
        lock (_sources)
        {
            return _sources.TryGetValue(name, out var state) ? state.Users.Count : 0;
        }
    }

    /// <summary>
    /// Records <paramref name="user"/> (a target path) as using <paramref name="source"/>, mounting it first when
    /// needed. Returns the directory inside the FUSE tree where the source's backend appears.
    /// </summary>
    public async Task<string> AcquireAsync(BackendConfig source, string user, long? readaheadBytes, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = StateOf(source.Name);
            state.PendingRelease?.Cancel();
            state.PendingRelease = null;
            if (state.Served is null)
            {
                var mountPoint = MountPointOf(source.Name);
                Directory.CreateDirectory(mountPoint);
                if (_mounter.IsMountPoint(mountPoint))
                {
                    // Left by an earlier run of the plugin: its server is gone, so the mount is dead.
                    _logger.LogWarning("replacing a stale mount at {MountPoint}", mountPoint);
                    _mounter.Unmount(mountPoint);
                }

                state.Served = await _mounter.MountSourceAsync(new SourceMountRequest(source, mountPoint, readaheadBytes), cancellationToken).ConfigureAwait(false);
                state.Backend = source;
                state.Stale = false;
                _logger.LogInformation("mounted data source {Source} at {MountPoint}", source.Name, mountPoint);
            }

            lock (_sources)
            {
                state.Users.Add(user);
            }

            return MountPointOf(source.Name) + state.Backend!.MountPath;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Forgets <paramref name="user"/>; the last one out starts the grace period (or unmounts a stale source now).</summary>
    public async Task ReleaseAsync(string source, string user)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_sources.TryGetValue(source, out var state))
            {
                return;
            }

            lock (_sources)
            {
                state.Users.Remove(user);
            }

            await ReleaseIfUnusedLockedAsync(source, state).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// Serves <paramref name="source"/> from a mount this process did not make: a live connection taken over at start
    /// (from the fd holder), at <see cref="MountPointOf"/> its name. It has no users until publications acquire it.
    /// </summary>
    public async Task AdoptAsync(BackendConfig source, IAsyncDisposable served)
    {
        ArgumentNullException.ThrowIfNull(source);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            var state = StateOf(source.Name);
            state.Served = served;
            state.Backend = source;
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

                var next = config.Backends.FirstOrDefault(b => b.Name == name);
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

        if (state.Stale || _grace <= TimeSpan.Zero)
        {
            await UnmountLockedAsync(source, state, state.Stale ? "its settings changed or it was removed" : "no longer used").ConfigureAwait(false);
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

        /// <summary>The config changed under it: unmount when unused instead of waiting out the grace period.</summary>
        public bool Stale { get; set; }

        public HashSet<string> Users { get; } = new(StringComparer.Ordinal);

        public CancellationTokenSource? PendingRelease { get; set; }
    }
}
