using System.Globalization;
using System.Text.RegularExpressions;
using k8s;
using Microsoft.Extensions.Logging;
using WarpDrive.Operator.Governance;
using WarpDrive.Operator.Kube;
using WarpDrive.Operator.Rendering;

namespace WarpDrive.Operator.Controller;

/// <summary>Settings of <c>warpdrive-operator run</c>.</summary>
public sealed record RunSettings
{
    public OperatorOptions Options { get; init; } = new();

    public bool LeaderElect { get; init; } = true;

    public TimeSpan Resync { get; init; } = TimeSpan.FromMinutes(10);

    public int Workers { get; init; } = 2;

    /// <summary>The embedded governance control plane; null when disabled (<c>--control-plane-addr ""</c>).</summary>
    public ControlPlaneSettings? ControlPlane { get; init; }

    /// <summary>This replica's name in the Lease and in events: the pod name in a cluster.</summary>
    public string Identity { get; init; } = Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod
        ? pod
        : $"{Environment.MachineName}-{Environment.ProcessId}";
}

/// <summary>
/// <c>warpdrive-operator run</c>: wires the informers, reconcilers, leader election and loop together and runs them
/// until cancelled (SIGTERM/Ctrl-C).
/// </summary>
public static class OperatorHost
{
    public static async Task<int> RunAsync(RunSettings settings, ILoggerFactory logging, CancellationToken stop)
    {
        var logger = logging.CreateLogger("operator");
        KubernetesClientConfiguration config;
        try
        {
            config = KubernetesClientConfiguration.IsInCluster()
                ? KubernetesClientConfiguration.InClusterConfig()
                : KubernetesClientConfiguration.BuildConfigFromConfigFile(Environment.GetEnvironmentVariable("KUBECONFIG"));
        }
        catch (Exception error) when (error is k8s.Exceptions.KubeConfigException or FileNotFoundException)
        {
            logger.LogError("no cluster to talk to (not in a pod, and no usable KUBECONFIG or ~/.kube/config): {Error}", error.Message);
            return 2;
        }

        using var client = new Kubernetes(config);

        // Before the loop and on every replica (not only the leader): the Service sends to any ready pod.
        EmbeddedControlPlane? controlPlane = null;
        if (settings.ControlPlane is { } controlPlaneSettings)
        {
            try
            {
                controlPlane = await EmbeddedControlPlane.StartAsync(controlPlaneSettings, settings.Options.Namespace, client, logging, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return 0;
            }
            catch (Exception error)
            {
                // Messages of the store and Kestrel name the database redacted and the address, never a password.
                logger.LogError("the control plane did not start: {Type}: {Message}", error.GetType().Name, error.Message);
                return 1;
            }
        }

        await using var controlPlaneLifetime = controlPlane;

        var options = settings.Options;
        var time = TimeProvider.System;
        var cache = new KubernetesClusterCache(client, options, logging);
        var api = new KubernetesClusterClient(client, options);
        var events = new KubernetesEventRecorder(client, settings.Identity, logging.CreateLogger("events"));
        var planner = new NodeConfigPlanner(cache, api, options);
        var nodeConfigs = new NodeConfigReconciler(planner, cache, api, logging.CreateLogger("node-configs"));
        var credentials = new CredentialsReconciler(cache, api, options, logging.CreateLogger("credentials"));
        var reconcilers = new Dictionary<WorkKind, IReconciler>
        {
            [WorkKind.NodeConfigs] = nodeConfigs,
            [WorkKind.Credentials] = credentials,
            [WorkKind.Source] = new SourceReconciler(cache, api, events, planner, nodeConfigs, credentials, time, logging.CreateLogger("sources")),
            [WorkKind.Warm] = new WarmReconciler(cache, api, events, time, logging.CreateLogger("warms")),
        };
        ILeaderElection election = settings.LeaderElect
            ? new LeaseLeaderElection(client, options.Namespace, settings.Identity, logging.CreateLogger("leader-election"))
            : new NoLeaderElection();
        var loop = new ControllerLoop(election, reconcilers, cache.AllKeys, time, logging.CreateLogger("loop"))
        {
            Workers = settings.Workers,
            Resync = settings.Resync,
        };
        cache.Changed += loop.Notify;

        logger.LogInformation("{Identity}: starting in namespace {Namespace} (leader election {Election}, resync {Resync})",
            settings.Identity, options.Namespace, settings.LeaderElect ? "on" : "off", settings.Resync);
        var informers = cache.RunAsync(stop);
        try
        {
            await cache.WaitForSyncAsync(stop).ConfigureAwait(false);
            logger.LogInformation("caches synced");
            await loop.RunAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        await informers.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        logger.LogInformation("stopped");
        return 0;
    }

    /// <summary>Durations as Kubernetes tools write them: <c>90s</c>, <c>10m</c>, <c>1h30m</c>, <c>500ms</c>.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var matches = Regex.Matches(text, @"(\d+)(ms|s|m|h)");
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)) != text)
        {
            return false;
        }

        foreach (Match match in matches)
        {
            var value = long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            duration += match.Groups[2].Value switch
            {
                "ms" => TimeSpan.FromMilliseconds(value),
                "s" => TimeSpan.FromSeconds(value),
                "m" => TimeSpan.FromMinutes(value),
                _ => TimeSpan.FromHours(value),
            };
        }

        return duration > TimeSpan.Zero;
    }
}

/// <summary>A single replica (<c>--leader-elect=false</c>): it leads from start to stop.</summary>
public sealed class NoLeaderElection : ILeaderElection
{
    public Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken stop) => lead(stop);
}
