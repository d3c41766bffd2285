using System.CommandLine;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>How results are printed.</summary>
internal enum OutputFormat
{
    Table,
    Json,
    Csv,
}

/// <summary>Options every command takes (recursive on the root command).</summary>
internal sealed class GlobalOptions
{
    public const string DefaultServer = "http://127.0.0.1:8090";

    public Option<string> Server { get; } = new("--server")
    {
        Description = $"Control plane URL (env WARPDRIVE_SERVER; default {DefaultServer}).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("WARPDRIVE_SERVER") is { Length: > 0 } s ? s : DefaultServer,
    };

    public Option<FileInfo?> TokenFile { get; } = new("--token-file")
    {
        Description = "File holding the bearer token (env WARPDRIVE_TOKEN_FILE).",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("WARPDRIVE_TOKEN_FILE") is { Length: > 0 } f ? new FileInfo(f) : null,
    };

    // No default value factory: help would print the enum's name (Table); the unset value is Table anyway.
    public Option<OutputFormat> Format { get; } = new("--format")
    {
        Description = "Output format: table (default), json or csv.",
        HelpName = "table|json|csv",
        Recursive = true,
        CustomParser = ParseFormat,
    };

    public Option<bool> NoColor { get; } = new("--no-color")
    {
        Description = "No colours and no live progress widgets (automatic when output is not a terminal).",
        Recursive = true,
    };

    public IEnumerable<Option> All => [Server, TokenFile, Format, NoColor];

    /// <summary>Was a control plane named (--server or WARPDRIVE_SERVER) rather than the default assumed?</summary>
    public bool ServerGiven(ParseResult parsed) =>
        parsed.GetResult(Server) is { Implicit: false } || Environment.GetEnvironmentVariable("WARPDRIVE_SERVER") is { Length: > 0 };

    private static OutputFormat ParseFormat(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
        switch (text.ToLowerInvariant())
        {
            case "table":
                return OutputFormat.Table;
            case "json":
                return OutputFormat.Json;
            case "csv":
                return OutputFormat.Csv;
            default:
                result.AddError($"--format must be table, json or csv, not '{text}'");
                return OutputFormat.Table;
        }
    }
}
