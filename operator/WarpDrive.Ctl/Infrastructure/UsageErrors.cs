using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>
/// Turns the parser's errors into one line a person can act on: an unknown or missing command lists the commands
/// there are, and a value of the wrong type names the option and the value, not a .NET type.
/// </summary>
internal static partial class UsageErrors
{
    public static string Describe(ParseResult parsed)
    {
        var command = parsed.CommandResult.Command;
        var subcommands = command.Subcommands.Where(c => !c.Hidden).Select(c => c.Name).ToList();
        if (subcommands.Count > 0 && parsed.Errors.Any(e => e.Message.StartsWith("Required command was not provided", StringComparison.Ordinal)))
        {
            var list = string.Join(", ", subcommands);
            return parsed.UnmatchedTokens.FirstOrDefault(t => !t.StartsWith('-')) is { } unknown
                ? $"unknown command '{unknown}'; commands: {list}"
                : $"a command is required: {list}";
        }

        return string.Join("; ", parsed.Errors.Select(e => Rewrite(e.Message)).Distinct());
    }

    /// <summary>" quota set" for the command the errors belong to ("" for the root).</summary>
    public static string CommandPath(ParseResult parsed)
    {
        var names = new List<string>();
        for (SymbolResult? result = parsed.CommandResult; result is CommandResult { Parent: not null } command; result = command.Parent)
        {
            names.Insert(0, command.Command.Name);
        }

        return names.Count == 0 ? "" : " " + string.Join(' ', names);
    }

    /// <summary>The first line of a message, trimmed: never a multi-line dump.</summary>
    public static string OneLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length == 0 ? "unexpected error" : line;
    }

    /// <summary>An unexpected failure in the user's terms: the root cause's own words, a missing native library named as such.</summary>
    public static string Unexpected(Exception error)
    {
        var root = error;
        while (root is TypeInitializationException or AggregateException && root.InnerException is { } inner)
        {
            root = inner;
        }

        return root is DllNotFoundException
            ? $"a native library this command needs cannot be loaded (publish warpdrive-ctl as a directory, not a single file): {OneLine(root.Message)}"
            : OneLine(root.Message);
    }

    private static string Rewrite(string message)
    {
        var match = CannotParse().Match(message);
        return match.Success ? $"'{match.Groups["value"].Value}' is not a valid value for {match.Groups["option"].Value}" : OneLine(message).TrimEnd('.');
    }

    [GeneratedRegex("^Cannot parse argument '(?<value>.*)' for (?:option|command) '(?<option>[^']*)' as expected type")]
    private static partial Regex CannotParse();
}
