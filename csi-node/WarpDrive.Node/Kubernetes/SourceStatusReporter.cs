using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.Config;
using WarpDrive.Node.Hosting;

namespace WarpDrive.Node.Kubernetes;

/// <summary>How often the reporter looks at the config and probes again.</summary>
public sealed record SourceReporterOptions
{
    /// <summary>How often the current node config is compared with what was probed (new, changed, removed sources).</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A reachable backend is probed again after this long.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>An unreachable backend is probed again after this long (so a fixed credential shows soon).</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Tells the operator what this node observes of each WarpDataSource it serves (<c>csi --kube</c>): every source
/// in the node config (a backend with a <c>namespace</c>, named <c>&lt;namespace&gt;-&lt;source&gt;</c>) is probed
/// with <see cref="BackendProbe"/> when it appears or changes, and again every
/// <see cref="SourceReporterOptions.ProbeInterval"/> (<see cref="SourceReporterOptions.RetryInterval"/> while it
/// fails), on a backend of its own that is disposed afterwards. When the outcome differs from the last one reported,
/// the node server-side applies its own entry of the source's <c>status.nodes</c> (field manager
/// <c>warpdrive-node/&lt;node&gt;</c>); a source that leaves the config gets an empty apply, which gives the entry up.
/// One loop task owns all state; API and probe failures are logged and retried, never thrown into the plugin.
/// </summary>
public sealed class SourceStatusReporter : IAsyncDisposable
{
    private readonly IKubernetes _api;
    private readonly string _node;
    private readonly Func<NodeConfig> _config;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly SourceReporterOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<string, Tracked> _sources = new(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;
    private int _applies;
    private int _probes;

    private SourceStatusReporter(IKubernetes api, string node, Func<NodeConfig> config, ILoggerFactory loggers, SourceReporterOptions options, TimeProvider time)
    {
        _api = api;
        _node = node;
        _config = config;
        _loggers = loggers;
        _logger = loggers.CreateLogger<SourceStatusReporter>();
        _options = options;
        _time = time;
    }

    /// <summary>Status applies answered by the API server so far (404s included).</summary>
    public int Applies => Volatile.Read(ref _applies);

    /// <summary>Probes run so far.</summary>
    public int Probes => Volatile.Read(ref _probes);

    /// <param name="api">Owned by the reporter from here on.</param>
    /// <param name="config">The node config as of now (it changes on reload).</param>
    public static SourceStatusReporter Start(IKubernetes api, string node, Func<NodeConfig> config, ILoggerFactory loggers,
        SourceReporterOptions? options = null, TimeProvider? time = null)
    {
        var reporter = new SourceStatusReporter(api, node, config, loggers, options ?? new SourceReporterOptions(), time ?? TimeProvider.System);
        var token = reporter._stop.Token;
        reporter._loop = Task.Run(() => reporter.LoopAsync(token), CancellationToken.None);
        return reporter;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        _api.Dispose();
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await CheckAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Never into the plugin: the data path keeps serving whatever the API server does.
                _logger.LogWarning("reporting backend reachability failed ({Type}); trying again", e.GetType().Name);
            }

            await Task.Delay(_options.CheckInterval, _time, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task CheckAsync(CancellationToken cancellationToken)
    {
        var config = _config();
        var current = config.Backends.Where(IsSource).ToDictionary(b => b.Name, StringComparer.Ordinal);
        foreach (var (name, gone) in _sources.Where(s => !current.ContainsKey(s.Key)).ToList())
        {
            // Served no more: give the entry up, so it says nothing about a node that does not serve the source.
            if (gone.Reported && !await ApplyAsync(gone.Namespace, gone.Source, null, cancellationToken).ConfigureAwait(false))
            {
                continue; // try again at the next check
            }

            _sources.Remove(name);
        }

        // Every due source is probed at once: one unreachable backend (up to the probe's 30 s) must not hold back
        // the report of the others, and a reload re-probes every source.
        var now = _time.GetUtcNow().UtcDateTime;
        var due = current.Values.Where(backend => !_sources.TryGetValue(backend.Name, out var known)
            || !ReferenceEquals(known.Config, backend) || now - known.ProbedAt >= Interval(known.Outcome)).ToList();
        var outcomes = await Task.WhenAll(due.Select(backend => ProbeAsync(config, backend, cancellationToken))).ConfigureAwait(false);
        for (var i = 0; i < due.Count; i++)
        {
            var backend = due[i];
            var outcome = outcomes[i];
            Interlocked.Increment(ref _probes);
            _sources.TryGetValue(backend.Name, out var previous);
            var changed = previous?.Outcome != outcome;
            _sources[backend.Name] = new Tracked(backend, backend.Namespace, backend.Name[(backend.Namespace.Length + 1)..], outcome, now,
                changed ? Truncate(now) : previous!.Since)
            {
                Reported = !changed && previous!.Reported,
            };
        }

        foreach (var backend in current.Values)
        {
            var tracked = _sources[backend.Name];
            if (!tracked.Reported)
            {
                var entry = new SourceNodeEntry
                {
                    Node = _node,
                    Reachable = tracked.Outcome.Reachable,
                    Reason = tracked.Outcome.Reason,
                    Message = tracked.Outcome.Message,
                    LastTransitionTime = tracked.Since,
                };
                tracked.Reported = await ApplyAsync(tracked.Namespace, tracked.Source, entry, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private TimeSpan Interval(ProbeOutcome outcome) => outcome.Reachable ? _options.ProbeInterval : _options.RetryInterval;

    /// <summary>
    /// Operator-rendered sources only: a backend of a standalone config has no namespace and no WarpDataSource. Not a
    /// source that reads with pods' identities: the node has none of its own to probe it with.
    /// </summary>
    private static bool IsSource(WarpDrive.Config.BackendConfig backend) =>
        backend.Auth.Source != WarpDrive.Config.AuthSources.Pod && backend.Namespace.Length > 0 && backend.Name.Length > backend.Namespace.Length + 1
        && backend.Name.StartsWith(backend.Namespace + "-", StringComparison.Ordinal);

    private async Task<ProbeOutcome> ProbeAsync(NodeConfig config, WarpDrive.Config.BackendConfig backendConfig, CancellationToken cancellationToken)
    {
        IBackend backend;
        try
        {
            backend = WarpDrive.Auth.CredentialFederation.CreateBackend(config, backendConfig, new BackendServices { LoggerFactory = _loggers });
        }
        catch (Exception e) when (e is ConfigException or ArgumentException or BackendException or IOException or UnauthorizedAccessException)
        {
            // The cause (e.g. a missing credentials file) goes to the log; the status gets our own sentence.
            _logger.LogWarning("backend {Backend} cannot be opened on this node: {Error}", backendConfig.Name, e.Message);
            return ProbeOutcome.Failed(ProbeReasons.SetupFailed,
                "the node could not open the backend with the source's settings and credentials (the node agent's log has the cause)");
        }

        await using (backend.ConfigureAwait(false))
        {
            try
            {
                return await BackendProbe.RunAsync(backendConfig.Name, backend, _logger, cancellationToken).ConfigureAwait(false)
                    ?? throw new OperationCanceledException(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogWarning("backend {Backend}: the probe failed unexpectedly ({Type})", backendConfig.Name, e.GetType().Name);
                return ProbeOutcome.Failed(ProbeReasons.BackendError, "the probe of the backend failed unexpectedly (the node agent's log has the details)");
            }
        }
    }

    /// <summary>Applies this node's entry (or, with null, none); false when it should be tried again.</summary>
    private async Task<bool> ApplyAsync(string ns, string source, SourceNodeEntry? entry, CancellationToken cancellationToken)
    {
        var body = new SourceReport
        {
            Metadata = new V1ObjectMeta { Name = source, NamespaceProperty = ns },
            Status = new SourceReportStatus { Nodes = entry is null ? null : [entry] },
        };
        try
        {
            using var response = await _api.CustomObjects.PatchNamespacedCustomObjectStatusWithHttpMessagesAsync(
                new V1Patch(KubernetesJson.Serialize(body), V1Patch.PatchType.ApplyPatch),
                SourceReportApi.Group, SourceReportApi.Version, ns, SourceReportApi.Plural, source,
                fieldManager: SourceReportApi.FieldManager(_node), force: true, cancellationToken: cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _applies);
            if (entry is not null)
            {
                _logger.LogInformation("reported {Namespace}/{Source}: {Reason}", ns, source, entry.Reason);
            }

            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            Interlocked.Increment(ref _applies);
            return true; // the WarpDataSource is gone: nobody to tell
        }
        catch (HttpOperationException e)
        {
            _logger.LogWarning("cannot report {Namespace}/{Source} to the API server: HTTP {Status}", ns, source, (int)e.Response.StatusCode);
            return false;
        }
        catch (HttpRequestException e)
        {
            _logger.LogWarning("cannot report {Namespace}/{Source} to the API server: {Error}", ns, source, e.Message);
            return false;
        }
    }

    private static DateTime Truncate(DateTime time) => new(time.Ticks - (time.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);

    private sealed record Tracked(WarpDrive.Config.BackendConfig Config, string Namespace, string Source, ProbeOutcome Outcome, DateTime ProbedAt, DateTime Since)
    {
        public bool Reported { get; set; }
    }
}
