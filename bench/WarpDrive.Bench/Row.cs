namespace WarpDrive.Bench;

/// <summary>One figure of the report: a workload on a target in one mode, the median of its runs.</summary>
internal sealed record Row(string Workload, string Target, string Mode, string Metric, bool HigherIsBetter, double Value, IReadOnlyList<double> Samples)
{
    public double? P50Us { get; init; }

    public double? P99Us { get; init; }

    public double? P999Us { get; init; }

    /// <summary>Median CPU seconds (user + system) the serving process spent per run; null for native.</summary>
    public double? CpuSeconds { get; init; }

    public double? PeakRssMiB { get; init; }

    /// <summary>readahead_hit / (readahead_hit + readahead_wasted) over the runs; null when the agent has no /metrics.</summary>
    public double? ReadaheadHitRate { get; init; }

    /// <summary>cache_hit / (cache_hit + cache_miss) over the runs; null when the agent has no /metrics.</summary>
    public double? CacheHitRatio { get; init; }

    public string? Note { get; init; }

    /// <summary>How many times better this figure is than <paramref name="other"/> (above 1 = better), whatever the metric's direction.</summary>
    public double? TimesBetterThan(Row? other) =>
        other is null || other.Value <= 0 || Value <= 0 ? null : HigherIsBetter ? Value / other.Value : other.Value / Value;
}
