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

ParseResult parsed;
try
{
    parsed = root.Parse(args);
}
catch (InvalidOperationException e)
{
    // A validator that met a value the parser could not convert; still a usage error, still one line.
    Console.Error.WriteLine($"warpdrive-ctl: {UsageErrors.OneLine(e.Message)} (see warpdrive-ctl --help)");
    return ExitCodes.Usage;
}


if (parsed.Errors.Count > 0)
{
    // One line, whatever the parser found: a script's log and a person's terminal both get the whole story.
    Console.Error.WriteLine($"warpdrive-ctl: {UsageErrors.Describe(parsed)} (see warpdrive-ctl{UsageErrors.CommandPath(parsed)} --help)");
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
catch (Exception e)
{
    // Every expected failure is a CtlException with its own message; this is the last line of defence for the
    // unexpected ones: still one line, the failure's own words, no type name and no stack trace.
    Console.Error.WriteLine($"warpdrive-ctl: failed: {UsageErrors.Unexpected(e)}");
    return ExitCodes.Failure;
}
