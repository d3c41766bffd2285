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

    public Option<OutputFormat> Format { get; } = new("--format")
    {
        Description = "Output format: table, json or csv.",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Table,
    };

    public Option<bool> NoColor { get; } = new("--no-color")
    {
        Description = "No colours and no live progress widgets (automatic when output is not a terminal).",
        Recursive = true,
    };

    public IEnumerable<Option> All => [Server, TokenFile, Format, NoColor];
}
