using System.CommandLine;
using Microsoft.Extensions.Logging;
using WarpDrive.Config;
using WarpDrive.ControlPlane;
using WarpDrive.ControlPlane.Auth;
using WarpDrive.Ctl.Infrastructure;

namespace WarpDrive.Ctl.Commands;

/// <summary><c>serve</c>: runs the governance control plane (REST API v1, crawler, quotas) in this process until Ctrl-C.</summary>
internal static class ServeCommand
{
    public const string DefaultTokensFile = "/etc/warpdrive/tokens.yaml";

    public static Command Create(GlobalOptions g)
    {
        var defaults = new ControlPlaneOptions();
        var listen = new Option<string?>("--listen", "--addr") { Description = $"Listen address [host]:port (default: the config's control_plane.rest_addr, else {defaults.ListenAddress}; 127.0.0.1:0 picks a free port)." };
        var database = new Option<string>("--database") { Description = "sqlite:///path/file.db or postgres://user@host:port/db.", DefaultValueFactory = _ => defaults.Database };
        var passwordEnv = new Option<string?>("--database-password-env") { Description = "Environment variable holding the PostgreSQL password." };
        var tokens = new Option<FileInfo?>("--tokens-file")
        {
            Description = $"YAML list of {{token_sha256 | token_file, name, role}} (default {DefaultTokensFile}). If it does not exist it is created " +
                          $"with one admin token, written to {FirstStartTokens.AdminTokenFileName} beside it (mode 0600).",
        };
        var config = new Option<FileInfo?>("--config") { Description = "Node agent config whose backends are crawled (and whose control_plane settings are the defaults)." };
        var crawl = new Option<TimeSpan?>("--crawl-interval")
        {
            Description = "How often backends are crawled, e.g. 24h or 30m (default: the config's control_plane.storage_crawl_interval, else 24h).",
            CustomParser = r =>
            {
                var text = r.Tokens.Count == 0 ? "" : r.Tokens[0].Value;
                if (Duration.TryParse(text, out var interval) && interval > TimeSpan.Zero)
                {
                    return interval;
                }

                r.AddError($"--crawl-interval '{text}' is not a positive duration (e.g. 30m, 24h)");
                return null;
            },
        };
        var grpcListen = new Option<string?>("--grpc-listen") { Description = "Also serve the gRPC ingest (telemetry.sink: grpc) on this [host]:port, HTTP/2 without TLS (e.g. :8091)." };
        var dashboard = new Option<DirectoryInfo?>("--dashboard")
        {
            Description = "Directory of the built dashboard served at / (default: the dashboard/ beside warpdrive-ctl, copied there by the build from dashboard/dist).",
        };
        var command = new Command("serve", "Run the governance control plane (REST API, optional gRPC ingest, dashboard) until interrupted.") { listen, database, passwordEnv, tokens, config, crawl, grpcListen, dashboard };
        command.SetAction(async (parsed, ct) =>
        {
            var terminal = Terminal.Create(parsed.GetValue(g.NoColor));
            var nodeConfig = parsed.GetValue(config) is { } configFile ? NodeBackends.LoadConfig(configFile) : null;
            var tokensFile = parsed.GetValue(tokens)?.FullName ?? DefaultTokensFile;
            if (Directory.Exists(tokensFile))
            {
                throw new CtlException($"serve: --tokens-file {tokensFile} is a directory; give the YAML file", ExitCodes.Usage);
            }

            if (!File.Exists(tokensFile))
            {
                CreateFirstAdmin(tokensFile, terminal);
            }

            // Logs go to standard error, like every other message of this tool.
            using var loggers = LoggerFactory.Create(b => b
                .AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace)
                .AddSimpleConsole(o => o.SingleLine = true)
                .SetMinimumLevel(LogLevel.Information)
                // Not a line per request (health probes, scrapes): ASP.NET Core speaks only about problems.
                .AddFilter("Microsoft.AspNetCore", LogLevel.Warning));
            var options = new ControlPlaneOptions
            {
                ListenAddress = parsed.GetValue(listen) ?? nodeConfig?.ControlPlane.RestAddr ?? defaults.ListenAddress,
                GrpcListenAddress = parsed.GetValue(grpcListen),
                Database = parsed.GetValue(database)!,
                DatabasePasswordEnvironmentVariable = parsed.GetValue(passwordEnv),
                TokensFile = tokensFile,
                NodeConfigPath = parsed.GetValue(config)?.FullName,
                CrawlInterval = parsed.GetValue(crawl) ?? nodeConfig?.ControlPlane.StorageCrawlInterval ?? defaults.CrawlInterval,
                LoggerFactory = loggers,
                DashboardDirectory = parsed.GetValue(dashboard)?.FullName ?? defaults.DashboardDirectory,
            };
            ControlPlaneHost host;
            try
            {
                host = await ControlPlaneHost.StartAsync(options, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The host's messages name the file, address or database (redacted) at fault; never a stack trace.
                var message = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : e.Message;
                throw new CtlException($"serve: {UsageErrors.OneLine(message)}");
            }

            await using (host)
            {
                terminal.Note($"serving the control plane on {host.BaseAddress}{(host.ServesDashboard ? " (dashboard at /)" : "")}{(host.GrpcAddress is { } grpc ? $", gRPC ingest on {grpc}" : "")} (Ctrl-C stops)");
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

    /// <summary>First start without a tokens file: auth stays on, with a generated admin token only its owner can read.</summary>
    private static void CreateFirstAdmin(string tokensFile, Terminal terminal)
    {
        string tokenFile;
        try
        {
            tokenFile = FirstStartTokens.CreateAdmin(tokensFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CtlException($"serve: no tokens file at {tokensFile}, and one cannot be created there ({UsageErrors.OneLine(e.Message)}); give --tokens-file");
        }

        terminal.Note($"serve: no tokens file at {tokensFile}: created it with one admin token, stored in {tokenFile} (mode 0600, readable only by {Environment.UserName}). " +
                      $"Use it with: warpdrive-ctl --token-file {tokenFile} ...; add reader and agent tokens to {tokensFile}.");
    }
}
