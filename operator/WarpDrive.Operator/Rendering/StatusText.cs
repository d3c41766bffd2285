using System.Text.RegularExpressions;

namespace WarpDrive.Operator.Rendering;

/// <summary>
/// Text the operator did not write itself (a node agent's warm error, its reachability message, the agent
/// validator's refusal) made fit for a condition message or an event note: one line, no exception type name, no
/// stack trace, bounded length. What a user sees must be a sentence they can act on, never a .NET diagnostic; the
/// agents' logs keep the details.
/// </summary>
public static partial class StatusText
{
    /// <summary>Longest relayed text; a condition message may hold 32 KiB, but a sentence is short.</summary>
    public const int MaxLength = 512;

    /// <summary>
    /// The first line of <paramref name="text"/> without exception type names (<c>System.IO.IOException:</c>),
    /// inner-exception arrows or stack frames; <paramref name="fallback"/> when nothing readable is left.
    /// </summary>
    public static string Sentence(string? text, string fallback)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .FirstOrDefault(l => !StackFrame().IsMatch(l)) ?? "";
        line = InnerArrow().Replace(line, " ");
        line = ExceptionName().Replace(line, "");
        line = Spaces().Replace(line, " ").Trim(' ', ':', ';', ',', '-');
        if (line.Length > MaxLength)
        {
            line = line[..(MaxLength - 1)].TrimEnd() + "…";
        }

        return line.Any(char.IsLetter) ? line : fallback;
    }

    /// <summary><c>   at Namespace.Type.Method(...)</c> or <c>--- End of stack trace ...</c>.</summary>
    [GeneratedRegex(@"^(at\s+[\w.`<>\[\],+]+\(.*\)(\s+in\s+.*)?|---\s*End of .*)$")]
    private static partial Regex StackFrame();

    [GeneratedRegex(@"\s*--->\s*")]
    private static partial Regex InnerArrow();

    /// <summary>A (possibly namespace-qualified) type name ending in Exception, with a following colon if any.</summary>
    [GeneratedRegex(@"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*Exception\b:?\s*")]
    private static partial Regex ExceptionName();

    [GeneratedRegex(@"\s{2,}")]
    private static partial Regex Spaces();
}
