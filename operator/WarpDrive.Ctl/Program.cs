using System.CommandLine;
using System.Runtime.InteropServices;
using WarpDrive.Ctl.Commands;
using WarpDrive.Ctl.Infrastructure;

var global = new GlobalOptions();
var root = new RootCommand("warpdrive-ctl: warm caches, inspect cache and usage, manage quotas, move data, run the control plane.")
{
    WarmCommand.Create(global),
    StatsCommand.Create(global),
    GovernanceCommands.Usage(global),
    GovernanceCommands.Stale(global),
    GovernanceCommands.Quota(global),
    StatusCommand.Create(global),
    MoveCommand.Create(global),
    ServeCommand.Create(global),
};
foreach (var option in global.All)
{
    root.Options.Add(option);
}

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        Console.Error.WriteLine($"warpdrive-ctl: {error.Message}");
    }

    Console.Error.WriteLine("(see warpdrive-ctl --help)");
    return ExitCodes.Usage;
}

// Ctrl-C and SIGTERM cancel the command's token and let it finish cleanly (a warm keeps what it fetched, a move
// keeps its journal, serve stops the host); a second signal is not caught, so it ends the process at once.
using var stop = new CancellationTokenSource();
void Stop(PosixSignalContext context)
{
    if (!stop.IsCancellationRequested)
    {
        context.Cancel = true;
        stop.Cancel();
    }
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
try
{
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null }, stop.Token);
}
catch (CtlException e)
{
    Console.Error.WriteLine($"warpdrive-ctl: {e.Message}");
    return e.ExitCode;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("warpdrive-ctl: interrupted");
    return ExitCodes.Failure;
}
