using System.Globalization;

namespace WarpDrive.Bench;

/// <summary>Reads the agent's Prometheus text exposition and sums each metric's series by name.</summary>
internal static class AgentMetrics
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(3) };

    public static IReadOnlyDictionary<string, double>? Scrape(int port)
    {
        try
        {
            var text = Http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")).GetAwaiter().GetResult();
            var sums = new Dictionary<string, double>();
            foreach (var line in text.Split('\n'))
            {
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }

                var nameEnd = line.IndexOfAny(['{', ' ']);
                var valueStart = line.LastIndexOf(' ');
                if (nameEnd <= 0 || valueStart <= 0)
                {
                    continue;
                }

                // A sample may end with a timestamp: take the field right after the labels.
                var fields = line[(line[nameEnd] == '{' ? line.LastIndexOf('}') + 1 : nameEnd)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 0 && double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                {
                    var name = line[..nameEnd];
                    sums[name] = sums.GetValueOrDefault(name) + value;
                }
            }

            return sums;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Change of <paramref name="name"/> between two scrapes (0 when either lacks it).</summary>
    public static double Delta(IReadOnlyDictionary<string, double>? before, IReadOnlyDictionary<string, double>? after, string name) =>
        after is null || !after.TryGetValue(name, out var a) ? 0 : a - (before?.GetValueOrDefault(name) ?? 0);
}
