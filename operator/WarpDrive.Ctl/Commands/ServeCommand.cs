using System.CommandLine;
using Microsoft.Extensions.Logging;
using WarpDrive.ControlPlane;
using WarpDrive.Ctl.Infrastructure;

namespace WarpDrive.Ctl.Commands;

/// <summary><c>serve</c>: runs the governance control plane (REST API v1, crawler, quotas) in this process until Ctrl-C.</summary>
internal static class ServeCommand
{
    public static Command Create(GlobalOptions g)
    {
        var defaults = new ControlPlaneOptions();
        var listen = new Option<string>("--listen") { Description = "Listen address [host]:port (127.0.0.1:0 picks a free port).", DefaultValueFactory = _ => defaults.ListenAddress };
        var database = new Option<string>("--database") { Description = "sqlite:///path/file.db or postgres://user@host:port/db.", DefaultValueFactory = _ => defaults.Database };
        var passwordEnv = new Option<string?>("--database-password-env") { Description = "Environment variable holding the PostgreSQL password." };
        var tokens = new Option<FileInfo>("--tokens-file") { Description = "YAML list of {token_sha256 | token_file, name, role}.", Required = true };
        var config = new Option<FileInfo?>("--config") { Description = "Node agent config whose backends are crawled." };
        var crawl = new Option<TimeSpan?>("--crawl-interval") { Description = "How often backends are crawled (e.g. 24:00:00)." };
        var grpcListen = new Option<string?>("--grpc-listen") { Description = "Also serve the gRPC ingest (telemetry.sink: grpc) on this [host]:port, HTTP/2 without TLS (e.g. :8091)." };
        var command = new Command("serve", "Run the governance control plane (REST API, optional gRPC ingest) until interrupted.") { listen, database, passwordEnv, tokens, config, crawl, grpcListen };
        command.SetAction(async (parsed, ct) =>
        {
            var terminal = Terminal.Create(parsed.GetValue(g.NoColor));
            // Logs go to standard error, like every other message of this tool.
            using var loggers = LoggerFactory.Create(b => b
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
                .AddSimpleConsole(o => o.SingleLine = true)
                .SetMinimumLevel(LogLevel.Information));
            var options = new ControlPlaneOptions
            {
                ListenAddress = parsed.GetValue(listen)!,
                GrpcListenAddress = parsed.GetValue(grpcListen),
                Database = parsed.GetValue(database)!,
                DatabasePasswordEnvironmentVariable = parsed.GetValue(passwordEnv),
                TokensFile = parsed.GetValue(tokens)!.FullName,
                NodeConfigPath = parsed.GetValue(config)?.FullName,
                CrawlInterval = parsed.GetValue(crawl) ?? defaults.CrawlInterval,
                LoggerFactory = loggers,
            };
            ControlPlaneHost host;
            try
            {
                host = await ControlPlaneHost.StartAsync(options, ct);
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidOperationException or WarpDrive.Config.ConfigException)
            {
                throw new CtlException($"serve: {e.Message}");
            }

            await using (host)
            {
                terminal.Note($"serving the control plane on {host.BaseAddress}{(host.GrpcAddress is { } grpc ? $", gRPC ingest on {grpc}" : "")} (Ctrl-C stops)");
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
