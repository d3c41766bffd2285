using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using WarpDrive.Config;
using WarpDrive.Fuse;
using WarpDrive.Fuse.Handover;
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
        var holder = new Option<string?>("--fd-holder")
        {
            Description = $"Unix socket of the fd holder (warpdrive-node fd-holder) that keeps the mount alive across restarts and crashes of this agent (default ${FdHolderClient.SocketVariable}).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(FdHolderClient.SocketVariable) is { Length: > 0 } socket ? socket : null,
        };
        var command = new Command("mount", "Mount the configured backends as one read-only tree and serve it until SIGTERM or SIGINT.")
        {
            config,
            holder,
        };
        command.SetAction((result, _) => RunAsync(result.GetValue(config)!, result.GetValue(holder), result.GetValue(logFormat)!, result.GetValue(logLevel)));
        return command;
    }

    private static async Task<int> RunAsync(string configPath, string? holderSocket, string logFormat, LogLevel logLevel)
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
        var interrupted = false; // SIGINT (Ctrl-C) always unmounts; SIGTERM leaves the mount to the fd holder when there is one
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
        using var holder = HolderLink.Connect(holderSocket, config.MountPoint, logger);
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (holder is not null)
        {
            holder.ReleaseRequested += () => released.TrySetResult();
        }

        try
        {
            agent = await NodeAgent.StartAsync(config, loggers, backend => new InstrumentedBackend(backend, metrics), holder?.Current).ConfigureAwait(false);
            holder?.KeepHolding(agent.Tree);
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

        var ended = await Task.WhenAny(stop.Task, agent.Completion, released.Task).ConfigureAwait(false);
        systemd.Stopping();
        if (ended != agent.Completion && !(ended == stop.Task && interrupted) && holder is { Holding: true })
        {
            // The holder keeps the connection: leave without unmounting. Exit at once, with the FUSE workers still
            // running: a clean shutdown would close the cache under requests in flight (errors for their readers),
            // while a request read and not answered when this process dies is simply sent again to the successor.
            // The holder hands the connection on only after this process has gone, so two agents never serve at once.
            logger.LogInformation(ended == released.Task
                ? "handing {MountPoint} over to a successor; exiting without unmounting"
                : "stopping; the fd holder keeps {MountPoint} mounted for the next agent (readers wait until it takes over)", agent.MountPoint);
            systemd.Status("handed over");
            Environment.Exit(ExitCodes.Ok);
        }

        systemd.Status("unmounting");
        await using (agent.ConfigureAwait(false))
        {
            if (ended == agent.Completion)
            {
                logger.LogError("{MountPoint} was unmounted from outside the agent; exiting", agent.MountPoint);
                ForgetHeld(holder?.Current, agent.MountPoint, logger);
                return ExitCodes.Failure;
            }
        }

        ForgetHeld(holder?.Current, agent.MountPoint, logger);

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
            interrupted |= context.Signal == PosixSignal.SIGINT;
            stop.TrySetResult();
        }
    }

    /// <summary>The mount is gone on purpose: the holder must not keep (or hand on) its connection.</summary>
    private static void ForgetHeld(FdHolderClient? holder, string mountPoint, ILogger logger)
    {
        if (holder is null)
        {
            return;
        }

        try
        {
            holder.Drop(mountPoint);
        }
        catch (IOException e)
        {
            logger.LogWarning("could not tell the fd holder that {MountPoint} is unmounted: {Error}", mountPoint, e.Message);
        }
    }

    /// <summary>The agent, once started: the metrics callbacks exist before it does.</summary>
    private sealed class CacheRef
    {
        public NodeAgent? Agent { get; set; }
    }
}
