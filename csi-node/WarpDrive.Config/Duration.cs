using System.Globalization;
using System.Text;

namespace WarpDrive.Config;

/// <summary>
/// Durations written like Go's: <c>500ms</c>, <c>5s</c>, <c>10m</c>, <c>24h</c>, <c>1h30m</c>, <c>1.5h</c>, <c>2d</c>.
/// Units: ms, s, m, h, d. A bare number is refused (which unit?) except <c>0</c>. A leading minus is read so
/// that validation can say "must not be negative" instead of "not a duration".
/// </summary>
public static class Duration
{
    private static readonly (string Suffix, TimeSpan Unit)[] Units =
    [
        ("ms", TimeSpan.FromMilliseconds(1)),
        ("s", TimeSpan.FromSeconds(1)),
        ("m", TimeSpan.FromMinutes(1)),
        ("h", TimeSpan.FromHours(1)),
        ("d", TimeSpan.FromDays(1)),
    ];

    /// <summary>Parses a duration; throws <see cref="FormatException"/> for text that is not one.</summary>
    public static TimeSpan Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!TryParse(text, out var duration))
        {
            throw new FormatException($"\"{text}\" is not a duration (e.g. 500ms, 5s, 10m, 24h, 1h30m)");
        }

        return duration;
    }

    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var rest = text.AsSpan().Trim();
        var negative = rest.StartsWith("-");
        if (negative)
        {
            rest = rest[1..];
        }

        if (rest.SequenceEqual("0"))
        {
            return true;
        }

        if (rest.IsEmpty)
        {
            return false;
        }

        decimal ticks = 0;
        while (!rest.IsEmpty)
        {
            var numberLength = 0;
            while (numberLength < rest.Length && (char.IsAsciiDigit(rest[numberLength]) || rest[numberLength] == '.'))
            {
                numberLength++;
            }

            var unitLength = 0;
            while (numberLength + unitLength < rest.Length && char.IsAsciiLetter(rest[numberLength + unitLength]))
            {
                unitLength++;
            }

            if (numberLength == 0 || unitLength == 0
                || !decimal.TryParse(rest[..numberLength], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                return false;
            }

            var unit = UnitOf(rest.Slice(numberLength, unitLength));
            if (unit == TimeSpan.Zero)
            {
                return false;
            }

            ticks += amount * unit.Ticks;
            rest = rest[(numberLength + unitLength)..];
        }

        if (ticks > TimeSpan.MaxValue.Ticks)
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)ticks);
        if (negative)
        {
            duration = -duration;
        }

        return true;
    }

    /// <summary>Compact text that <see cref="Parse"/> reads back to the same value (to the millisecond): <c>1h30m</c>, <c>500ms</c>, <c>0s</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration == TimeSpan.Zero)
        {
            return "0s";
        }

        var text = new StringBuilder();
        if (duration < TimeSpan.Zero)
        {
            text.Append('-');
            duration = duration.Duration();
        }

        Append(text, (long)duration.TotalHours, "h");
        Append(text, duration.Minutes, "m");
        Append(text, duration.Seconds, "s");
        Append(text, duration.Milliseconds, "ms");
        if (duration < TimeSpan.FromMilliseconds(1))
        {
            // Below the smallest whole unit: a fraction of a millisecond, still readable by Parse.
            text.Append(duration.TotalMilliseconds.ToString("0.####", CultureInfo.InvariantCulture)).Append("ms");
        }

        return text.ToString();
    }

    private static void Append(StringBuilder text, long amount, string unit)
    {
        if (amount != 0)
        {
            text.Append(amount.ToString(CultureInfo.InvariantCulture)).Append(unit);
        }
    }

    private static TimeSpan UnitOf(ReadOnlySpan<char> suffix)
    {
        foreach (var (name, unit) in Units)
        {
            if (suffix.SequenceEqual(name))
            {
                return unit;
            }
        }

        return TimeSpan.Zero;
    }
}
