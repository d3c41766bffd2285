using System.CommandLine;
using System.Runtime.InteropServices;
using k8s;
using k8s.Exceptions;
using Microsoft.Extensions.Logging;
using WarpDrive.Config;
using WarpDrive.Csi;
using WarpDrive.Fuse.Handover;
using WarpDrive.Node.Hosting;
using WarpDrive.Node.Kubernetes;

namespace WarpDrive.Node.Commands;

/// <summary><c>warpdrive-node csi</c>: the CSI node plugin. Serves kubelet until SIGTERM/SIGINT, then unmounts everything and exits 0.</summary>
public static class CsiCommand
{
    public static Command Create(Option<string> logFormat, Option<LogLevel> logLevel)
    {
        var endpoint = new Option<string>("--endpoint")
        {
            Description = "The CSI endpoint kubelet dials (default unix:///csi/csi.sock).",
            DefaultValueFactory = _ => "unix:///csi/csi.sock",
        };
        var nodeId = new Option<string>("--node-id")
        {
            Description = "This node's id as reported to kubelet (default $NODE_NAME).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("NODE_NAME") ?? "",
        };
        var config = new Option<string>("--config", "-c")
        {
            Description = $"Path of the node config (default {MountCommand.DefaultConfigPath}); re-read when it changes.",
            DefaultValueFactory = _ => MountCommand.DefaultConfigPath,
        };
        var stateDir = new Option<string>("--state-dir")
        {
            Description = "Where the per-source FUSE mounts live (default /var/lib/warpdrive).",
            DefaultValueFactory = _ => "/var/lib/warpdrive",
        };
        var grace = new Option<TimeSpan>("--release-grace")
        {
            Description = "How long an unused source mount stays up (default 30s; e.g. 00:00:30).",
            DefaultValueFactory = _ => TimeSpan.FromSeconds(30),
        };
        var kube = new Option<bool>("--kube")
        {
            Description = "Run in a cluster: the node config comes from this node's ConfigMap (copied to --config and kept current), and this node's share of WarpCacheWarm jobs is run. Uses the Kubernetes API (the pod's service account, else KUBECONFIG or ~/.kube/config).",
        };
        var configMap = new Option<string?>("--configmap")
        {
            Description = $"With --kube: the ConfigMap holding this node's config (default ${NodeConfigMapName.NameVariable}).",
        };
        var configMapNamespace = new Option<string?>("--configmap-namespace")
        {
            Description = $"With --kube: the ConfigMap's namespace (default ${NodeConfigMapName.NamespaceVariable}).",
        };
        var registrationDir = new Option<string?>("--registration-dir")
        {
            Description = "Register with kubelet ourselves, without the node-driver-registrar sidecar: serve kubelet's plugin registration on "
                + $"<dir>/{CsiDriver.Name}-reg.sock, where <dir> is kubelet's plugins_registry directory as mounted here (e.g. /registration).",
        };
        var kubeletRegistrationPath = new Option<string>("--kubelet-registration-path")
        {
            Description = $"With --registration-dir: the CSI socket as kubelet sees it on the host (default {RegistrationOptions.DefaultKubeletEndpoint}).",
            DefaultValueFactory = _ => RegistrationOptions.DefaultKubeletEndpoint,
        };
        var holder = new Option<string?>("--fd-holder")
        {
            Description = "Unix socket of this pod's fd holder (warpdrive-node fd-holder), which keeps every source mount alive across crashes and restarts of "
                + $"this plugin; other holders' sockets in the same directory belong to older or newer pods on this node (default ${FdHolderClient.SocketVariable}).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(FdHolderClient.SocketVariable) is { Length: > 0 } s ? s : null,
        };
        var command = new Command("csi", "Run as the CSI node plugin: serve the CSI Identity, Controller and Node services to kubelet on a unix socket.")
        {
            endpoint, nodeId, config, stateDir, grace, kube, configMap, configMapNamespace, registrationDir, kubeletRegistrationPath, holder,
        };
        command.SetAction((result, _) => RunAsync(
            result.GetValue(endpoint)!, result.GetValue(nodeId)!, result.GetValue(config)!, result.GetValue(stateDir)!, result.GetValue(grace),
            result.GetValue(kube), result.GetValue(configMap), result.GetValue(configMapNamespace),
            result.GetValue(registrationDir), result.GetValue(kubeletRegistrationPath)!, result.GetValue(holder), result.GetValue(logFormat)!, result.GetValue(logLevel)));
        return command;
    }

    private static async Task<int> RunAsync(string endpoint, string nodeId, string configPath, string stateDir, TimeSpan grace, bool kube,
        string? configMapName, string? configMapNamespace, string? registrationDir, string kubeletRegistrationPath, string? holderSocket, string logFormat, LogLevel logLevel)
    {
        const string Scheme = "unix://";
        if (!endpoint.StartsWith(Scheme, StringComparison.Ordinal) || endpoint.Length == Scheme.Length)
        {
            await Console.Error.WriteLineAsync($"warpdrive-node: --endpoint \"{endpoint}\" is not a unix socket URL (unix:///csi/csi.sock)").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        if (nodeId.Length == 0)
        {
            await Console.Error.WriteLineAsync("warpdrive-node: --node-id is required (or set NODE_NAME)").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        RegistrationOptions? registration = null;
        if (!string.IsNullOrEmpty(registrationDir))
        {
            if (!kubeletRegistrationPath.StartsWith('/'))
            {
                await Console.Error.WriteLineAsync($"warpdrive-node: --kubelet-registration-path \"{kubeletRegistrationPath}\" is not an absolute path (e.g. {RegistrationOptions.DefaultKubeletEndpoint})").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            registration = new RegistrationOptions(registrationDir, kubeletRegistrationPath);
        }

        KubernetesClientConfiguration? kubernetes = null;
        NodeConfigMapName? source = null;
        if (kube)
        {
            source = NodeConfigMapName.Resolve(configMapName, configMapNamespace, Environment.GetEnvironmentVariable, out var error);
            if (source is null)
            {
                await Console.Error.WriteLineAsync($"warpdrive-node: {error}").ConfigureAwait(false);
                return ExitCodes.Usage;
            }

            try
            {
                // In a pod: the service account; elsewhere KUBECONFIG, then ~/.kube/config.
                kubernetes = KubernetesClientConfiguration.BuildDefaultConfig();
            }
            catch (KubeConfigException e)
            {
                await Console.Error.WriteLineAsync($"warpdrive-node: --kube: no Kubernetes API configuration ({e.Message})").ConfigureAwait(false);
                return ExitCodes.Usage;
            }
        }

        using var loggers = AgentLogging.Create(logFormat, logLevel);
        var logger = loggers.CreateLogger("warpdrive-node");
        using var stop = new CancellationTokenSource();
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        PluginHolders? holders = null;
        if (holderSocket is not null)
        {
            holders = await PluginHolders.ConnectAsync(holderSocket, logger).ConfigureAwait(false);
            if (holders.Successor is { } successor)
            {
                holders.Dispose();
                return await StandByAsync(successor, logger, stop.Token).ConfigureAwait(false);
            }

            // A successor took our mounts (a newer pod on this node, or this one restarted): leave at once, without
            // unmounting; the holder hands them on only after this process is gone, so two agents never serve at once.
            holders.Own.ReleaseRequested += () => Task.Run(() =>
            {
                logger.LogInformation("a successor is taking this node's mounts over: exiting without unmounting");
                Environment.Exit(ExitCodes.Ok);
            });
        }

        ConfigMapMirror? mirror = null;
        if (kubernetes is not null)
        {
            logger.LogInformation("copying the node config from ConfigMap {ConfigMap} to {Path}", source, configPath);
            try
            {
                mirror = await ConfigMapMirror.StartAsync(new k8s.Kubernetes(kubernetes), source!, configPath, loggers, cancellationToken: stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                logger.LogInformation("stopped before the node config appeared");
                holders?.Dispose();
                return ExitCodes.Ok;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                logger.LogError("cannot write the node config to {Path}: {Error}", configPath, e.Message);
                holders?.Dispose();
                return ExitCodes.Failure;
            }
        }

        if (await ConfigFile.LoadOrReportAsync(configPath).ConfigureAwait(false) is not { } config)
        {
            await DisposeMirrorAsync().ConfigureAwait(false);
            holders?.Dispose();
            return ExitCodes.Usage;
        }

        logger.LogInformation("starting CSI node plugin with configuration from {Path}:\n{Config}", configPath, config.Redacted());
        PluginHost host;
        try
        {
            var options = new PluginOptions
            {
                SocketPath = endpoint[Scheme.Length..],
                NodeId = nodeId,
                ConfigPath = configPath,
                StateDirectory = stateDir,
                ReleaseGrace = grace,
                Kubernetes = kubernetes,
                Registration = registration,
                Holders = holders,
            };
            host = await PluginHost.StartAsync(options, config, loggers, mirror).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            logger.LogError("could not start the CSI plugin: {Error}", e.Message);
            await DisposeMirrorAsync().ConfigureAwait(false);
            holders?.Dispose();
            return ExitCodes.Failure;
        }

        await using (host.ConfigureAwait(false))
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            logger.LogInformation("stopping: unmounting every data source");
        }

        logger.LogInformation("stopped cleanly");
        return ExitCodes.Ok;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }

        ValueTask DisposeMirrorAsync() => mirror?.DisposeAsync() ?? ValueTask.CompletedTask;
    }

    /// <summary>
    /// A newer pod's agent serves this node (a rolling update is replacing this pod): serve nothing and wait to be
    /// stopped. If that pod goes away first (a rollback), exit with an error so the container restarts and takes over.
    /// </summary>
    private static async Task<int> StandByAsync(string successor, ILogger logger, CancellationToken stop)
    {
        logger.LogWarning("a newer pod's fd holder is on this node ({Socket}): this pod is being replaced, so this agent serves nothing and waits to be stopped", successor);
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(2), stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            try
            {
                using var probe = FdHolderClient.Connect(successor, logger);
            }
            catch (IOException)
            {
                logger.LogWarning("the newer pod's fd holder {Socket} is gone: restarting to serve this node", successor);
                return ExitCodes.Failure;
            }
        }

        return ExitCodes.Ok;
    }
}
