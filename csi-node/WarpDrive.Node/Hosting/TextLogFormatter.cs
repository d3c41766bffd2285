using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// <c>--log-format text</c>: <c>2026-12-02T08:00:00.000Z info  FuseTree: mounted /mnt ...</c>. The category is
/// shortened to its last part; a message with several lines (the start-up config dump) keeps them, each continued
/// line indented, instead of being squashed into one. An exception adds its message only: a stack trace is for
/// debugging (<c>--log-level Debug</c> shows it), not for the person reading the log.
/// </summary>
public sealed class TextLogFormatter() : ConsoleFormatter(Name)
{
    public new const string Name = "warpdrive-text";

    private const string Continuation = "    ";

    public override void Write<TState>(in LogEntry<TState> logEntry, IExternalScopeProvider? scopeProvider, TextWriter textWriter)
    {
        var message = logEntry.Formatter?.Invoke(logEntry.State, logEntry.Exception) ?? "";
        var category = logEntry.Category;
        var dot = category.LastIndexOf('.');
        textWriter.Write(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        textWriter.Write(' ');
        textWriter.Write(LevelText(logEntry.LogLevel));
        textWriter.Write(' ');
        textWriter.Write(dot < 0 ? category : category[(dot + 1)..]);
        textWriter.Write(": ");
        WriteLines(textWriter, message.TrimEnd('\n'));
        if (logEntry.Exception is { } exception)
        {
            textWriter.Write(Environment.NewLine);
            textWriter.Write(Continuation);
            WriteLines(textWriter, logEntry.LogLevel <= LogLevel.Debug ? exception.ToString() : exception.Message);
        }

        textWriter.Write(Environment.NewLine);
    }

    private static void WriteLines(TextWriter writer, string text)
    {
        var first = true;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (!first)
            {
                writer.Write(Environment.NewLine);
                writer.Write(Continuation);
            }

            writer.Write(line);
            first = false;
        }
    }

    private static string LevelText(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        LogLevel.Critical => "crit",
        _ => "none",
    };
}
