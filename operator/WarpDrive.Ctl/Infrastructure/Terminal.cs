using Spectre.Console;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>
/// Standard output (results) and standard error (progress, messages) as Spectre consoles. Colours and live widgets
/// only when that stream is a terminal and --no-color is not given, so piped output stays plain text.
/// </summary>
internal sealed class Terminal
{
    private Terminal(IAnsiConsole output, IAnsiConsole error, bool interactiveError)
    {
        Out = output;
        Err = error;
        InteractiveError = interactiveError;
    }

    public IAnsiConsole Out { get; }

    public IAnsiConsole Err { get; }

    /// <summary>Standard error is a terminal that can show a live progress bar.</summary>
    public bool InteractiveError { get; }

    public static Terminal Create(bool noColor)
    {
        var output = Make(Console.Out, Console.IsOutputRedirected, noColor);
        var error = Make(Console.Error, Console.IsErrorRedirected, noColor);
        return new Terminal(output, error, !noColor && !Console.IsErrorRedirected && error.Profile.Capabilities.Interactive);
    }

    private static IAnsiConsole Make(TextWriter writer, bool redirected, bool noColor)
    {
        var plain = noColor || redirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = plain ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = plain ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = plain ? InteractionSupport.No : InteractionSupport.Detect,
            Out = new AnsiConsoleOutput(writer),
        });
        if (redirected)
        {
            // A pipe has no width; don't wrap table rows at 80 columns.
            console.Profile.Width = 512;
        }

        return console;
    }

    /// <summary>A line of results on standard output, not interpreted as markup.</summary>
    public void Print(string text) => Out.WriteLine(text);

    /// <summary>A one-line message on standard error, not interpreted as markup.</summary>
    public void Note(string text) => Err.WriteLine(text);

    public void Error(string text) => Err.MarkupLineInterpolated($"[red]warpdrive-ctl: {text}[/]");
}
