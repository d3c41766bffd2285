using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace WarpDrive.Node.Hosting;

/// <summary>Structured JSON logs on stderr by default (one object per line, for journald and log shippers); plain text on request.</summary>
public static class AgentLogging
{
    public static ILoggerFactory Create(string format, LogLevel level) =>
        LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(level);
            builder.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
            if (format == "text")
            {
                builder.AddSimpleConsole(options =>
                {
                    options.SingleLine = true;
                    options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                    options.UseUtcTimestamp = true;
                });
            }
            else
            {
                builder.AddJsonConsole(options =>
                {
                    options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                    options.UseUtcTimestamp = true;
                });
            }
        });
}
