using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using WarpDrive.Fuse.Handover;
using WarpDrive.Node.Hosting;

namespace WarpDrive.Node.Commands;

/// <summary>
/// <c>warpdrive-node fd-holder</c>: the small process that keeps each mount's /dev/fuse descriptors (and the agent's
/// session journal) while agents come and go. Runs beside the agent: its own systemd unit, or its own container in
/// the agent's pod. It does nothing else, so it has nothing to crash on.
/// </summary>
public static class FdHolderCommand
{
    public const string DefaultSocket = "/run/warpdrive/fdholder.sock";

    public static Command Create(Option<string> logFormat, Option<LogLevel> logLevel)
    {
        var socket = new Option<string>("--socket")
        {
            Description = $"Unix socket to listen on (default ${FdHolderClient.SocketVariable}, else {DefaultSocket}).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(FdHolderClient.SocketVariable) is { Length: > 0 } s ? s : DefaultSocket,
        };
        var command = new Command("fd-holder", "Keep the FUSE connections of WarpDrive mounts alive across restarts and crashes of the agent serving them.")
        {
            socket,
        };
        command.SetAction((result, _) => RunAsync(result.GetValue(socket)!, result.GetValue(logFormat)!, result.GetValue(logLevel)));
        return command;
    }

    private static async Task<int> RunAsync(string socket, string logFormat, LogLevel logLevel)
    {
        using var loggers = AgentLogging.Create(logFormat, logLevel);
        var logger = loggers.CreateLogger("warpdrive-fd-holder");
        using var systemd = SystemdNotifier.FromEnvironment(logger);
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        FdHolder holder;
        try
        {
            holder = new FdHolder(socket, logger);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            logger.LogError("fd holder cannot listen: {Error}", e.Message);
            return ExitCodes.Failure;
        }

        using (holder)
        {
            logger.LogInformation("fd holder listening on {Socket}", socket);
            systemd.Ready();
            await stop.Task.ConfigureAwait(false);
            systemd.Stopping();
        }

        logger.LogInformation("fd holder stopped");
        return ExitCodes.Ok;

        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }
    }
}
