using System.CommandLine;
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

try
{
    return await parsed.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
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
