using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using WarpDrive.Config;
using WarpDrive.Fuse;
using WarpDrive.Cache;
using WarpDrive.Node.Hosting;
using WarpDrive.Node.Observability;

namespace WarpDrive.Node.Commands;

/// <summary><c>warpdrive-node mount</c>: the standalone agent. Mounts, serves until SIGTERM/SIGINT, unmounts, exits 0.</summary>
public static class MountCommand
{
    public const string DefaultConfigPath = "/etc/warpdrive/config.yaml";

    public static Command Create(Option<string> logFormat, Option<LogLevel> logLevel)
    {
        var config = new Option<string>("--config", "-c")
        {
            Description = $"Path of the YAML configuration (default {DefaultConfigPath}).",
            DefaultValueFactory = _ => DefaultConfigPath,
        };
        var command = new Command("mount", "Mount the configured backends as one read-only tree and serve it until SIGTERM or SIGINT.")
        {
            config,
        };
        command.SetAction((result, _) => RunAsync(result.GetValue(config)!, result.GetValue(logFormat)!, result.GetValue(logLevel)));
        return command;
    }

    private static async Task<int> RunAsync(string configPath, string logFormat, LogLevel logLevel)
    {
        if (await ConfigFile.LoadOrReportAsync(configPath).ConfigureAwait(false) is not { } config
            || !await ConfigFile.PreflightOrReportAsync(config).ConfigureAwait(false))
        {
            return ExitCodes.Usage;
        }

        using var loggers = AgentLogging.Create(logFormat, logLevel);
        var logger = loggers.CreateLogger("warpdrive-node");
        logger.LogInformation("starting with configuration from {Path}:\n{Config}", configPath, config.Redacted());
        using var systemd = SystemdNotifier.FromEnvironment(logger);

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        NodeAgent agent;
        using var metrics = new NodeMetrics(() => null);
        var cache = new CacheRef();
        using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true; // SIGHUP would end the process by default
            DropCaches("SIGHUP");
        });
        metrics.Cache = () => (cache.Agent?.Content as BlockCache)?.Snapshot();
        // The listener starts first, so it sees every series from the start (including the zero ones).
        var health = new HealthReport([
            new FuseMountCheck(() => cache.Agent is { } a ? [a.MountPoint] : []),
            new CacheDbCheck(() => cache.Agent?.Content, config.Cache.Path, () => false),
        ]);
        await using var metricsServer = await PluginHost.StartMetricsAsync(config, health, loggers, () => DropCaches("POST /admin/drop-caches")).ConfigureAwait(false);
        try
        {
            agent = await NodeAgent.StartAsync(config, loggers, backend => new InstrumentedBackend(backend, metrics)).ConfigureAwait(false);
            cache.Agent = agent;
            systemd.Status($"serving {config.Backends.Count} backend(s) at {agent.MountPoint}");
            systemd.Ready();
        }
        catch (ConfigException e)
        {
            // Backend or auth settings that only the backend factory can judge (e.g. an auth method the type cannot use).
            await Console.Error.WriteLineAsync($"warpdrive-node: invalid configuration: {e.Message}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }
        catch (Exception e) when (e is FuseMountException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            logger.LogError("could not mount {MountPoint}: {Error}", config.MountPoint, e.Message);
            return ExitCodes.Failure;
        }

        await using (agent.ConfigureAwait(false))
        {
            var ended = await Task.WhenAny(stop.Task, agent.Completion).ConfigureAwait(false);
            systemd.Stopping();
            systemd.Status("unmounting");
            if (ended == agent.Completion)
            {
                logger.LogError("{MountPoint} was unmounted from outside the agent; exiting", agent.MountPoint);
                return ExitCodes.Failure;
            }
        }

        logger.LogInformation("stopped cleanly");
        return ExitCodes.Ok;

        // False before the tree is mounted: there is nothing cached yet.
        bool DropCaches(string reason)
        {
            if (cache.Agent is not { } current)
            {
                return false;
            }

            current.DropCaches();
            logger.LogInformation("{Reason}: dropped cached listings and metadata; the next listing or open asks the backends", reason);
            return true;
        }

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true; // we stop ourselves, after unmounting
            stop.TrySetResult();
        }
    }

    /// <summary>The agent, once started: the metrics callbacks exist before it does.</summary>
    private sealed class CacheRef
    {
        public NodeAgent? Agent { get; set; }
    }
}
