using System.Globalization;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>
/// Reads samples out of the Prometheus text exposition format: <c>name{labels} value [timestamp]</c>, comments
/// skipped. Only what <c>stats</c> needs: the value of each series, summed per metric name over its label sets.
/// </summary>
internal static class PrometheusText
{
    public static Dictionary<string, double> SumByName(string text)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd <= 0)
            {
                continue;
            }

            var name = line[..nameEnd];
            var rest = line[nameEnd..];
            if (rest[0] == '{')
            {
                // Label values may hold spaces or braces inside quotes: skip to the closing brace outside quotes.
                var close = ClosingBrace(rest);
                if (close < 0)
                {
                    continue;
                }

                rest = rest[(close + 1)..];
            }

            var value = rest.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            if (value is not null && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                sums[name] = sums.GetValueOrDefault(name) + number;
            }
        }

        return sums;
    }

    private static int ClosingBrace(string text)
    {
        var quoted = false;
        for (var i = 1; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '\\' when quoted:
                    i++;
                    break;
                case '"':
                    quoted = !quoted;
                    break;
                case '}' when !quoted:
                    return i;
            }
        }

        return -1;
    }
}
