namespace WarpDrive.Bench;

/// <summary>One figure of the report: a workload on a target in one mode, the median of its runs.</summary>
internal sealed record Row(string Workload, string Target, string Mode, string Metric, bool HigherIsBetter, double Value, IReadOnlyList<double> Samples)
{
    public double? P50Us { get; init; }

    public double? P99Us { get; init; }

    public double? P999Us { get; init; }

    /// <summary>Median CPU seconds (user + system) the serving process spent per run; null for native.</summary>
    public double? CpuSeconds { get; init; }

    /// <summary>
    /// Median CPU seconds of the serving process per GiB delivered to the readers (user + system ÷ bytes read);
    /// null for native and for workloads that move no file data (meta).
    /// </summary>
    public double? CpuSecondsPerGiB { get; init; }

    /// <summary>Round trip to the remote server in ms; null for targets reading local disk.</summary>
    public int? RttMs { get; init; }

    /// <summary>The target with its round trip, as tables and charts name it ("s3fs @10ms").</summary>
    public string Label => RttMs is { } rtt ? $"{Target} @{rtt}ms" : Target;

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
