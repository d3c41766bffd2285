using System.Text;

namespace WarpDrive.Bench.Report;

/// <summary>Renders the rows of one workload as a Markdown table (also printed to stdout, where it reads fine as text).</summary>
internal static class Tables
{
    private static readonly string[] Peers = ["native", "rclone-mount", "s3fs"];

    public static string Render(IReadOnlyList<Row> rows, string workload)
    {
        var mine = rows.Where(r => r.Workload == workload).ToList();
        if (mine.Count == 0)
        {
            return "";
        }

        var latency = mine.Any(r => r.P50Us is not null);
        var text = new StringBuilder();
        var header = new List<string> { "target", "mode", mine[0].Metric };
        if (latency)
        {
            header.AddRange(["p99 µs", "p99.9 µs"]);
        }

        header.AddRange(["CPU s", "CPU s/GiB", "peak RSS MiB", "vs native", "vs rclone", "vs s3fs", "readahead hit", "cache hit", "note"]);
        text.AppendLine($"| {string.Join(" | ", header)} |");
        text.AppendLine($"|{string.Concat(header.Select((_, i) => i < 2 ? " --- |" : " ---: |"))}");
        foreach (var row in mine)
        {
            var cells = new List<string> { row.Label, row.Mode, Number(row.Value) };
            if (latency)
            {
                cells.AddRange([Number(row.P99Us), Number(row.P999Us)]);
            }

            cells.Add(row.CpuSeconds is { } cpu ? cpu.ToString("F2") : "–");
            cells.Add(row.CpuSecondsPerGiB is { } perGiB ? perGiB.ToString("F2") : "–");
            cells.Add(row.PeakRssMiB is { } rss ? rss.ToString("F0") : "–");
            foreach (var peer in Peers)
            {
                // Remote peers are compared at the same round trip; native (local disk) with everything.
                var other = mine.FirstOrDefault(r => r.Target == peer && r.Mode == row.Mode && (peer == "native" || r.RttMs == row.RttMs));
                cells.Add(peer == row.Target ? "–" : row.TimesBetterThan(other) is { } times ? $"{times:F2}x" : "–");
            }

            cells.Add(row.ReadaheadHitRate is { } ra ? ra.ToString("P0") : row.Target.StartsWith("warpdrive", StringComparison.Ordinal) ? "n/a" : "–");
            cells.Add(row.CacheHitRatio is { } ch ? ch.ToString("P0") : row.Target.StartsWith("warpdrive", StringComparison.Ordinal) ? "n/a" : "–");
            cells.Add(row.Note ?? (row.Samples.Count > 1 ? $"runs: {string.Join(", ", row.Samples.Select(s => Number(s)))}" : ""));
            text.AppendLine($"| {string.Join(" | ", cells)} |");
        }

        return text.ToString();
    }

    private static string Number(double? value) => value switch
    {
        null => "–",
        >= 100 => value.Value.ToString("F0"),
        >= 10 => value.Value.ToString("F1"),
        _ => value.Value.ToString("F2"),
    };
}
