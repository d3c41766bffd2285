using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WarpDrive.Cache;
using WarpDrive.Config;
using WarpDrive.Csi;
using WarpDrive.Fuse;
using WarpDrive.Fuse.Handover;
using WarpDrive.Node.Kubernetes;
using WarpDrive.Node.Observability;
using WarpDrive.Telemetry;

namespace WarpDrive.Node.Hosting;

/// <summary>How <c>warpdrive-node csi</c> runs.</summary>
public sealed record PluginOptions
{
    /// <summary>The unix socket kubelet dials (the path of unix:///csi/csi.sock).</summary>
    public required string SocketPath { get; init; }

    public required string NodeId { get; init; }

    public required string ConfigPath { get; init; }

    public string StateDirectory { get; init; } = "/var/lib/warpdrive";

    /// <summary>How long an unused source mount stays up, so a pod restart does not remount.</summary>
    public TimeSpan ReleaseGrace { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan ReloadDebounce { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Where to watch WarpCacheWarm jobs (<c>--kube</c>); null: warm jobs are not run.</summary>
    public k8s.KubernetesClientConfiguration? Kubernetes { get; init; }

    /// <summary>
    /// Where pods' service accounts are read (for sources with <c>auth.source: pod</c>); by default the Kubernetes API
    /// of <see cref="Kubernetes"/>, and without one no annotations (the sources' own settings apply).
    /// </summary>
    public IServiceAccountDirectory? ServiceAccounts { get; init; }

    public WarmJobRunnerOptions WarmJobs { get; init; } = new();

    /// <summary>Register with kubelet ourselves (no node-driver-registrar sidecar); null: a sidecar does it.</summary>
    public RegistrationOptions? Registration { get; init; }

    /// <summary>How this node reports what it observes of each source's backend (with <see cref="Kubernetes"/>).</summary>
    public SourceReporterOptions SourceReports { get; init; } = new();

    /// <summary>
    /// The fd holders that keep the source mounts alive across restarts of this process (<c>--fd-holder</c>); owned by
    /// the host once it has started. Null: a crash or restart ends every source mount.
    /// </summary>
    public PluginHolders? Holders { get; init; }
}

/// <summary>
/// The node agent in CSI plugin mode, one process: the shared content source, the per-source FUSE mounts, the
/// CSI gRPC server on a unix socket, the config watcher, and /metrics + /healthz. Owns all of them; disposing
/// stops the servers, unmounts every source and closes the cache, in that order.
/// </summary>
public sealed class PluginHost : IAsyncDisposable, IReadiness
{
    private readonly WebApplication _grpc;
    private readonly IContentSource _content;
    private readonly SwitchableAccessRecorder _access;
    private readonly NodeMetrics _metrics;
    private readonly ConfigWatcher _watcher;
    private readonly MetricsServer? _metricsServer;
    private WarmJobRunner? _warmJobs;
    private SourceStatusReporter? _sourceReports;
    private ConfigMapMirror? _configMirror;
    private KubeletRegistration? _registration;
    private PluginHolders? _holders;
    private int _contentClosed;

    private PluginHost(WebApplication grpc, IContentSource content, SwitchableAccessRecorder access, NodeMetrics metrics, SourceMounts sources, ConfigWatcher watcher, MetricsServer? metricsServer, HealthReport health)
    {
        _grpc = grpc;
        _content = content;
        _access = access;
        _metrics = metrics;
        Sources = sources;
        _watcher = watcher;
        _metricsServer = metricsServer;
        Health = health;
    }

    public SourceMounts Sources { get; }

    /// <summary>kubelet's registration, when the plugin registers itself (<see cref="PluginOptions.Registration"/>).</summary>
    public KubeletRegistration? Registration => _registration;

    /// <summary>What the start re-learned of the last run's publications.</summary>
    public PublicationRecovery.Outcome Recovered { get; private set; }

    public ConfigWatcher Watcher => _watcher;

    public HealthReport Health { get; }

    /// <summary>The reachability reporter (<c>--kube</c>); null without the Kubernetes API.</summary>
    public SourceStatusReporter? SourceReports => _sourceReports;

    /// <summary>Where /metrics and /healthz are served; null when metrics are disabled.</summary>
    public Uri? MetricsAddress => _metricsServer?.Address;

    /// <summary>Ready once the cache is open and the FUSE device is there (Probe's answer).</summary>
    public bool IsReady => Volatile.Read(ref _contentClosed) == 0 && File.Exists("/dev/fuse");

    /// <param name="configMirror">
    /// Keeps <see cref="PluginOptions.ConfigPath"/> a copy of the node's ConfigMap (<c>--kube</c>); owned by the host
    /// once it has started (the caller disposes it if this throws), and stopped first on dispose.
    /// </param>
    public static async Task<PluginHost> StartAsync(PluginOptions options, NodeConfig config, ILoggerFactory loggers, ConfigMapMirror? configMirror = null)
    {
        var logger = loggers.CreateLogger<PluginHost>();
        var mountsDirectory = Path.Combine(options.StateDirectory, "mounts");
        Directory.CreateDirectory(mountsDirectory);
        // Before the cache is opened: taking over from an older pod makes its agent exit, and with it let go of the cache.
        var held = options.Holders?.TakeAll(Leftovers(mountsDirectory)) ?? [];
        UnmountLeftovers(mountsDirectory, held.Keys, logger);

        IContentSource content;
        try
        {
            content = held.Count > 0 || options.Holders is { RetiredAny: true }
                ? await ContentSources.CreateAfterTakeOverAsync(config.Cache, loggers).ConfigureAwait(false)
                : ContentSources.Create(config.Cache, loggers);
        }
        catch
        {
            foreach (var connection in held.Values)
            {
                connection.CloseAll();
            }

            throw;
        }

        var metrics = new NodeMetrics(() => (content as BlockCache)?.Snapshot());
        // A reload that changes telemetry: (e.g. the operator now knows the control plane's ClusterIP) swaps the
        // recorder under the mounted trees (Telemetry/SwitchableAccessRecorder).
        var store = new PublicationStore(Path.Combine(options.StateDirectory, "publications"));
        var publications = new Publications(store);
        var pods = new PublishedPodResolver(publications);
        var access = new SwitchableAccessRecorder(TelemetryPipeline.Create(config.Telemetry, loggers, pods));
        var telemetry = new TelemetryReload(access, config.Telemetry, pods, loggers);
        SourceMounts? sources = null;
        KernelMounter mounter = null!;
        mounter = new KernelMounter(() => sources!.Config, content, access, loggers, backend => new InstrumentedBackend(backend, metrics), options.Holders?.Own);
        sources = new SourceMounts(mounter, config, mountsDirectory, options.ReleaseGrace, loggers.CreateLogger<SourceMounts>());
        await AdoptAsync(held, sources, mounter, options.Holders, logger).ConfigureAwait(false);
        // Before kubelet's first call: an unpublish of a volume published by the last run must find it.
        var recovered = await PublicationRecovery.RestoreAsync(store, publications, sources, mounter, loggers.CreateLogger(typeof(PublicationRecovery)), CancellationToken.None).ConfigureAwait(false);
        await sources.ReleaseUnusedAsync().ConfigureAwait(false);
        options.Holders?.Own.KeepHolding(() => mounter.Trees);

        PluginHost? host = null;
        var health = new HealthReport([
            new FuseMountCheck(() => sources.MountedPoints),
            new CacheDbCheck(() => content, config.Cache.Path, () => host is not null && Volatile.Read(ref host._contentClosed) != 0),
            new KubeletRegistrationCheck(() => host?._registration?.Status),
        ]);
        var metricsServer = await StartMetricsAsync(config, health, loggers).ConfigureAwait(false);
        var watcher = new ConfigWatcher(options.ConfigPath, options.ReloadDebounce, async reloaded =>
        {
            await sources.ApplyConfig(reloaded).ConfigureAwait(false);
            await telemetry.ApplyAsync(reloaded.Telemetry).ConfigureAwait(false);
        }, loggers.CreateLogger<ConfigWatcher>());

        var readiness = new DeferredReadiness();
        var serviceAccounts = options.ServiceAccounts
            ?? (options.Kubernetes is not null ? new KubernetesServiceAccounts(new k8s.Kubernetes(options.Kubernetes)) : NoServiceAccountDirectory.Instance);
        var grpc = BuildGrpcServer(options, sources, mounter, readiness, publications, serviceAccounts, loggers);
        host = new PluginHost(grpc, content, access, metrics, sources, watcher, metricsServer, health) { _configMirror = configMirror, _holders = options.Holders, Recovered = recovered };
        readiness.Host = host;
        try
        {
            await grpc.StartAsync().ConfigureAwait(false);
            if (options.Registration is not null)
            {
                // After the CSI socket serves: kubelet dials it (NodeGetInfo) as soon as it has our info.
                host._registration = await KubeletRegistration.StartAsync(options.Registration, loggers).ConfigureAwait(false);
            }
        }
        catch
        {
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        if (options.Kubernetes is not null)
        {
            host._warmJobs = WarmJobRunner.Start(new k8s.Kubernetes(options.Kubernetes), options.NodeId, () => sources.Config, content as BlockCache, loggers, options.WarmJobs);
            host._sourceReports = SourceStatusReporter.Start(new k8s.Kubernetes(options.Kubernetes), options.NodeId, () => sources.Config, loggers, options.SourceReports);
        }

        logger.LogInformation("CSI node plugin {Name} {Version} serving node {NodeId} on unix://{Socket}", CsiDriver.Name, IdentityService.Version, options.NodeId, options.SocketPath);
        return host;
    }

    /// <summary>The HTTP listener is best effort in both modes: a port already taken must not stop the data plane.</summary>
    public static async Task<MetricsServer?> StartMetricsAsync(NodeConfig config, HealthReport health, ILoggerFactory loggers, Func<bool>? dropCaches = null)
    {
        if (!config.Metrics.Enabled)
        {
            return null;
        }

        try
        {
            return await MetricsServer.StartAsync(config.Metrics.Addr, health, loggers, dropCaches).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            var why = IsAddressInUse(e) ? "the port is already in use" : e.Message;
            loggers.CreateLogger<MetricsServer>().LogError("metrics.addr {Address}: cannot serve /metrics and /healthz: {Error}; the data is served without them",
                config.Metrics.Addr, why);
            return null;
        }
    }

    private static bool IsAddressInUse(Exception e)
    {
        for (Exception? current = e; current is not null; current = current.InnerException)
        {
            if (current is Microsoft.AspNetCore.Connections.AddressInUseException
                or System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse })
            {
                return true;
            }
        }

        return false;
    }

    public async ValueTask DisposeAsync()
    {
        if (_registration is not null)
        {
            await _registration.DisposeAsync().ConfigureAwait(false); // kubelet deregisters the driver first
        }

        if (_configMirror is not null)
        {
            await _configMirror.DisposeAsync().ConfigureAwait(false); // no config rewrite while the rest stops
        }

        if (_sourceReports is not null)
        {
            await _sourceReports.DisposeAsync().ConfigureAwait(false);
        }

        if (_warmJobs is not null)
        {
            await _warmJobs.DisposeAsync().ConfigureAwait(false); // before the cache closes: a warm in progress uses it
        }

        _watcher.Dispose();
        await _grpc.StopAsync().ConfigureAwait(false);
        await _grpc.DisposeAsync().ConfigureAwait(false);
        await Sources.DisposeAsync().ConfigureAwait(false);
        await _access.DisposeAsync().ConfigureAwait(false); // sends what is queued

        if (_metricsServer is not null)
        {
            await _metricsServer.DisposeAsync().ConfigureAwait(false);
        }

        Volatile.Write(ref _contentClosed, 1);
        await ContentSources.DisposeAsync(_content).ConfigureAwait(false);
        _metrics.Dispose();
        _holders?.Dispose();
    }

    private static WebApplication BuildGrpcServer(PluginOptions options, SourceMounts sources, IMounter mounter, IReadiness readiness, Publications publications,
        IServiceAccountDirectory serviceAccounts, ILoggerFactory loggers)
    {
        if (File.Exists(options.SocketPath))
        {
            File.Delete(options.SocketPath); // left by an earlier run: binding would fail with "address in use"
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.SocketPath))!);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(options.SocketPath, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddCsiPlugin(new NodeIdentity(options.NodeId), sources, mounter, readiness, publications, serviceAccounts);
        var app = builder.Build();
        app.MapCsiPlugin();
        return app;
    }

    /// <summary>Source mounts left by the last run (of this container, or of an older pod on this node).</summary>
    private static List<string> Leftovers(string mountsDirectory) =>
        Directory.EnumerateDirectories(mountsDirectory).Where(MountTable.IsMountPoint).ToList();

    /// <summary>
    /// Leftover source mounts that no fd holder gave us are dead (their server was the last run): detach them. The
    /// ones its publications still need are mounted again by <see cref="PublicationRecovery"/>.
    /// </summary>
    private static void UnmountLeftovers(string mountsDirectory, IEnumerable<string> taken, ILogger logger)
    {
        var keep = taken.ToHashSet(StringComparer.Ordinal);
        foreach (var directory in Leftovers(mountsDirectory).Where(d => !keep.Contains(FdHolderClient.Key(d))))
        {
            logger.LogWarning("detaching {MountPoint}, left by an earlier run", directory);
            BindMounts.Unmount(directory);
        }
    }

    /// <summary>
    /// Serves each connection taken from a holder again, as the source of the same name. One whose source left the
    /// config cannot be served: its connection is closed, so its readers get ENOTCONN, and it is detached.
    /// </summary>
    private static async Task AdoptAsync(Dictionary<string, HeldConnection> held, SourceMounts sources, KernelMounter mounter, PluginHolders? holders, ILogger logger)
    {
        foreach (var (mountPoint, connection) in held)
        {
            var key = Path.GetFileName(mountPoint);
            var (name, podUid) = SourceMounts.ParseKey(key);
            var served = false;
            // A pod's own mount (<source>@<uid>) is served again only while the source still reads with pods' identities.
            if (sources.Find(name) is { } backend && sources.MountPointOf(key) == mountPoint && (podUid is not null) == (backend.Auth.Source == AuthSources.Pod))
            {
                try
                {
                    var taking = System.Diagnostics.Stopwatch.StartNew();
                    var request = new SourceMountRequest(backend, mountPoint, null, podUid);
                    await sources.AdoptAsync(backend, await mounter.AdoptAsync(request, connection).ConfigureAwait(false), podUid).ConfigureAwait(false);
                    logger.LogInformation("took over data source {Source} at {MountPoint} in {Elapsed} ms: its readers never saw it go", name, mountPoint, taking.ElapsedMilliseconds);
                    holders?.Adopted(mountPoint);
                    served = true;
                }
                catch (Exception e) when (e is IOException or ArgumentException or FuseMountException)
                {
                    logger.LogError("could not take data source {Source} at {MountPoint} over: {Error}", name, mountPoint, e.Message);
                }
            }
            else
            {
                logger.LogError("{MountPoint} was taken over, but data source {Source} is no longer in the node config: its readers now get errors", mountPoint, name);
                connection.CloseAll();
            }

            if (!served)
            {
                holders?.Abandoned(mountPoint);
                BindMounts.Unmount(mountPoint);
            }
        }
    }

    /// <summary>Probe is served before the host object exists; answers not-ready until it does.</summary>
    private sealed class DeferredReadiness : IReadiness
    {
        public PluginHost? Host { get; set; }

        public bool IsReady => Host?.IsReady ?? false;
    }
}
