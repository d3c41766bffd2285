using System.CommandLine;
using Microsoft.Extensions.Logging;
using WarpDrive.Node.Commands;

var logFormat = new Option<string>("--log-format")
{
    Description = "Log format: json (default, one object per line) or text.",
    DefaultValueFactory = _ => "json",
    Recursive = true,
};
logFormat.AcceptOnlyFromAmong("json", "text");
var logLevel = new Option<LogLevel>("--log-level")
{
    Description = "Least severe level logged: Trace, Debug, Information (default), Warning, Error.",
    DefaultValueFactory = _ => LogLevel.Information,
    Recursive = true,
};

var root = new RootCommand("""
    warpdrive-node: the WarpDrive node agent. Serves Azure Blob, S3, GCS, local/NFS and rclone backends as one
    read-only POSIX tree through FUSE, with an NVMe block cache. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.
    """)
{
    logFormat,
    logLevel,
    MountCommand.Create(logFormat, logLevel),
    CsiCommand.Create(logFormat, logLevel),
    FdHolderCommand.Create(logFormat, logLevel),
};

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    foreach (var error in parsed.Errors)
    {
        await Console.Error.WriteLineAsync($"warpdrive-node: {error.Message}");
    }

    await Console.Error.WriteLineAsync("Run 'warpdrive-node --help' for usage.");
    return ExitCodes.Usage;
}

// Signals are handled by the commands themselves: they must unmount before the process ends.
try
{
    return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
}
catch (Exception e) when (e is not OutOfMemoryException)
{
    // A user sees one line, never an exception type or a stack trace; --log-level Debug shows the whole of it.
    await Console.Error.WriteLineAsync($"warpdrive-node: failed: {FailureText.Of(e)}");
    if (parsed.GetValue(logLevel) <= LogLevel.Debug)
    {
        await Console.Error.WriteLineAsync(e.ToString());
    }

    return ExitCodes.Failure;
}
