using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// Structured JSON logs on stderr by default (one object per line, for journald and log shippers); plain text on
/// request (<see cref="TextLogFormatter"/>: one line per entry, a multi-line message such as the config dump
/// continued on indented lines).
/// </summary>
public static class AgentLogging
{
    /// <summary>
    /// ASP.NET Core's own categories (Kestrel, hosting, routing): five lines per /metrics or /healthz scrape and
    /// per gRPC call at Information. Only warnings and errors pass unless the agent logs at Debug or below.
    /// </summary>
    public const string AspNetCoreCategory = "Microsoft.AspNetCore";

    /// <summary>The generic host (<c>Microsoft.Extensions.Hosting.Internal.Host</c>).</summary>
    public const string HostingCategory = "Microsoft.Extensions.Hosting";

    public static ILoggerFactory Create(string format, LogLevel level) =>
        LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(level);
            builder.AddFilter(AspNetCoreCategory, level <= LogLevel.Debug ? level : LogLevel.Warning);
            builder.AddFilter("Microsoft.Hosting.Lifetime", level <= LogLevel.Debug ? level : LogLevel.Warning);
            // The generic host logs a failed start ("Hosting failed to start", with the exception) and rethrows it;
            // its caller says what failed in one line (a metrics port in use), so the host's copy is debug-only.
            builder.AddFilter(HostingCategory, level <= LogLevel.Debug ? level : LogLevel.None);
            if (format == "text")
            {
                builder.AddConsole(options =>
                {
                    options.LogToStandardErrorThreshold = LogLevel.Trace;
                    options.FormatterName = TextLogFormatter.Name;
                });
                builder.AddConsoleFormatter<TextLogFormatter, ConsoleFormatterOptions>();
            }
            else
            {
                builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
                builder.AddJsonConsole(options =>
                {
                    options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    options.UseUtcTimestamp = true;
                });
            }
        });
}
