using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>
/// Whole-number options with a range, checked in the parser itself: one message that names the option, the range
/// and the value (the built-in conversion would name a .NET type, and a validator cannot read a value that did not convert).
/// </summary>
internal static class Counts
{
    public static Option<int> Option(string name, string description, int fallback, int min, int max) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => fallback,
        CustomParser = r => Parse(r, name, min, max) ?? fallback,
    };

    public static Option<int?> OptionalOption(string name, string description, int min, int max) => new(name)
    {
        Description = description,
        CustomParser = r => Parse(r, name, min, max),
    };

    private static int? Parse(ArgumentResult result, string name, int min, int max)
    {
        var text = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        result.AddError(max == int.MaxValue ? $"{name} must be a whole number of at least {min}, not '{text}'" : $"{name} must be a whole number from {min} to {max}, not '{text}'");
        return null;
    }
}
