using System.CommandLine;
using System.Globalization;
using System.CommandLine.Parsing;
using WarpDrive.Config;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>Human sizes in and out, the same syntax as the node config (500GB, 4MiB, 1.5GB, plain bytes).</summary>
internal static class Sizes
{
    public static Option<long?> Option(string name, string description) => new(name)
    {
        Description = description + " (e.g. 500GB, 4MiB, or bytes)",
        CustomParser = Parse,
    };

    public static Option<long> RequiredOption(string name, string description) => new(name)
    {
        Description = description + " (e.g. 500GB, 4MiB, or bytes)",
        Required = true,
        CustomParser = result => Parse(result) ?? 0,
    };

    /// <summary>At most one decimal in the largest binary unit: 512B, 4.4KiB, 28.6MiB, 2GiB.</summary>
    public static string Format(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return (unit == 0 ? bytes.ToString(CultureInfo.InvariantCulture) : value.ToString("0.#", CultureInfo.InvariantCulture)) + units[unit];
    }

    private static long? Parse(ArgumentResult result)
    {
        var text = result.Tokens.Count == 0 ? "" : result.Tokens[0].Value;
        if (ByteSize.TryParse(text, out var bytes))
        {
            return bytes;
        }

        result.AddError($"'{text}' is not a size (e.g. 500GB, 4MiB, or bytes)");
        return null;
    }
}
