using System.CommandLine;
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

    public static string Format(long bytes) => ByteSize.Format(bytes);

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
