using System.Globalization;

namespace WarpDrive.Config;

/// <summary>
/// Byte counts written for people: <c>500GB</c>, <c>4MB</c>, <c>512KiB</c>, <c>1.5GB</c>, <c>1024</c>.
/// Every unit is binary, as in most storage tools: KB = KiB = 1024, MB = MiB = 1024², GB = GiB = 1024³,
/// TB = TiB = 1024⁴. Units are case-insensitive, a space before the unit is allowed, a bare number or a
/// <c>B</c> suffix means bytes, and a fractional amount is rounded down to whole bytes.
/// </summary>
public static class ByteSize
{
    public const long KiB = 1L << 10;
    public const long MiB = 1L << 20;
    public const long GiB = 1L << 30;
    public const long TiB = 1L << 40;

    private static readonly (string Suffix, long Multiplier)[] Units =
    [
        ("kib", KiB), ("kb", KiB), ("k", KiB),
        ("mib", MiB), ("mb", MiB), ("m", MiB),
        ("gib", GiB), ("gb", GiB), ("g", GiB),
        ("tib", TiB), ("tb", TiB), ("t", TiB),
        ("b", 1),
    ];

    /// <summary>Largest first, for <see cref="Format"/>.</summary>
    private static readonly (string Suffix, long Multiplier)[] FormatUnits =
        [("TiB", TiB), ("GiB", GiB), ("MiB", MiB), ("KiB", KiB)];

    /// <summary>Parses a size; throws <see cref="FormatException"/> for text that is not a non-negative size.</summary>
    public static long Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParse(text, out var bytes))
        {
            throw new FormatException($"\"{text}\" is not a size (e.g. 500GB, 4MB, 512KiB, 1.5GB, 1024)");
        }

        return bytes;
    }

    public static bool TryParse(string text, out long bytes)
    {
        bytes = 0;
        var trimmed = text.AsSpan().Trim();
        var numberLength = 0;
        while (numberLength < trimmed.Length && (char.IsAsciiDigit(trimmed[numberLength]) || trimmed[numberLength] == '.'))
        {
            numberLength++;
        }

        var number = trimmed[..numberLength];
        var unit = trimmed[numberLength..].TrimStart();
        if (number.IsEmpty || !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        var multiplier = unit.IsEmpty ? 1 : MultiplierOf(unit);
        if (multiplier == 0)
        {
            return false;
        }

        try
        {
            bytes = (long)decimal.Floor(amount * multiplier);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    /// <summary>
    /// The shortest exact text with a binary unit (<c>4MiB</c>, <c>1.5GiB</c>), or bytes (<c>1000B</c>) when no
    /// unit divides evenly. <see cref="Parse"/> reads it back to the same value.
    /// </summary>
    public static string Format(long bytes)
    {
        foreach (var (suffix, multiplier) in FormatUnits)
        {
            if (bytes >= multiplier)
            {
                var amount = (decimal)bytes / multiplier;
                if (decimal.Round(amount, 3) == amount)
                {
                    return amount.ToString("0.###", CultureInfo.InvariantCulture) + suffix;
                }
            }
        }

        return bytes.ToString(CultureInfo.InvariantCulture) + "B";
    }

    private static long MultiplierOf(ReadOnlySpan<char> unit)
    {
        foreach (var (suffix, multiplier) in Units)
        {
            if (unit.Equals(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return multiplier;
            }
        }

        return 0;
    }
}
