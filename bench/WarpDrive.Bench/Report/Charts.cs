using ScottPlot;

namespace WarpDrive.Bench.Report;

/// <summary>One PNG per workload: a cold and a hot bar per target (ScottPlot).</summary>
internal static class Charts
{
    public static string Write(IReadOnlyList<Row> rows, string workload, string title, string directory)
    {
        var mine = rows.Where(r => r.Workload == workload).ToList();
        var targets = mine.Select(r => r.Label).Distinct().ToList();
        var modes = mine.Select(r => r.Mode).Distinct().ToList();
        var plot = new Plot();
        var colors = new[] { Colors.SteelBlue, Colors.DarkOrange };
        var bars = new List<Bar>();
        for (var t = 0; t < targets.Count; t++)
        {
            for (var m = 0; m < modes.Count; m++)
            {
                if (mine.FirstOrDefault(r => r.Label == targets[t] && r.Mode == modes[m]) is { } row)
                {
                    bars.Add(new Bar
                    {
                        Position = (t * (modes.Count + 1)) + m,
                        Value = row.Value,
                        FillColor = colors[m % colors.Length],
                        Label = row.Value >= 100 ? row.Value.ToString("F0") : row.Value.ToString("F1"),
                    });
                }
            }
        }

        var series = plot.Add.Bars(bars);
        series.ValueLabelStyle.FontSize = 10;
        var ticks = targets.Select((name, t) => new Tick((t * (modes.Count + 1)) + ((modes.Count - 1) / 2.0), name)).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.TickLabelStyle.Rotation = -20;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
        plot.Axes.Bottom.MinimumSize = 90;
        plot.Axes.Margins(bottom: 0, top: 0.15);
        for (var m = 0; m < modes.Count; m++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = modes[m], FillColor = colors[m % colors.Length] });
        }

        plot.ShowLegend(Alignment.UpperRight);
        plot.Title(title);
        plot.YLabel(mine.FirstOrDefault()?.Metric ?? "");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{workload}.png");
        plot.SavePng(path, 900, 480);
        return path;
    }
}
