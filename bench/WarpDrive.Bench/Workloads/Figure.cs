using WarpDrive.Bench.Targets;

namespace WarpDrive.Bench.Workloads;

/// <summary>Collects the runs of one figure (value, CPU of the serving process, agent counters, latencies) and reduces them to a <see cref="Row"/>.</summary>
internal sealed class Figure(string workload, ITarget target, string mode, string metric, bool higherIsBetter)
{
    private readonly List<double> _values = [];
    private readonly List<double> _cpu = [];
    private readonly List<double> _cpuPerGiB = [];
    private readonly List<double> _latenciesUs = [];
    private double _readaheadHits;
    private double _readaheadWasted;
    private double _cacheHits;
    private double _cacheMisses;
    private bool _sawMetrics;

    public string? Note { get; set; }

    /// <summary>Bytes the readers receive in one run (for CPU per GiB); 0 when the workload moves no file data.</summary>
    public long BytesPerRun { get; init; }

    /// <summary>Runs <paramref name="run"/> once, recording its value and the serving process's CPU and counters around it.</summary>
    public double Measure(Func<double> run)
    {
        var pid = target.ServingPid;
        var metrics = target as WarpDriveTarget;
        var cpuBefore = pid is { } p ? ProcStats.CpuSeconds(p) : 0;
        var before = metrics?.ScrapeMetrics();
        var value = run();
        if (pid is { } q)
        {
            var cpu = ProcStats.CpuSeconds(q) - cpuBefore;
            _cpu.Add(cpu);
            if (BytesPerRun > 0)
            {
                _cpuPerGiB.Add(cpu / (BytesPerRun / (double)(1L << 30)));
            }
        }

        var after = metrics?.ScrapeMetrics();
        if (after is not null)
        {
            _sawMetrics = true;
            _readaheadHits += AgentMetrics.Delta(before, after, "warpdrive_readahead_hit_total");
            _readaheadWasted += AgentMetrics.Delta(before, after, "warpdrive_readahead_wasted_total");
            _cacheHits += AgentMetrics.Delta(before, after, "warpdrive_cache_hit_total");
            _cacheMisses += AgentMetrics.Delta(before, after, "warpdrive_cache_miss_total");
        }

        _values.Add(value);
        return value;
    }

    public void AddLatencies(IEnumerable<double> microseconds) => _latenciesUs.AddRange(microseconds);

    public Row Build()
    {
        var sorted = _latenciesUs.Order().ToArray();
        return new Row(workload, target.Name, mode, metric, higherIsBetter, Median(_values), _values.ToArray())
        {
            CpuSeconds = _cpu.Count == 0 ? null : Median(_cpu),
            CpuSecondsPerGiB = _cpuPerGiB.Count == 0 ? null : Median(_cpuPerGiB),
            RttMs = target.RttMs,
            PeakRssMiB = target.ServingPid is null && target.PeakRssMiB() == 0 ? null : target.PeakRssMiB(),
            P50Us = Percentile(sorted, 0.50),
            P99Us = Percentile(sorted, 0.99),
            P999Us = Percentile(sorted, 0.999),
            ReadaheadHitRate = _sawMetrics && _readaheadHits + _readaheadWasted > 0 ? _readaheadHits / (_readaheadHits + _readaheadWasted) : null,
            CacheHitRatio = _sawMetrics && _cacheHits + _cacheMisses > 0 ? _cacheHits / (_cacheHits + _cacheMisses) : null,
            Note = Note,
        };
    }

    public static double Median(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>Nearest-rank percentile of sorted samples; null without samples.</summary>
    private static double? Percentile(double[] sorted, double fraction) =>
        sorted.Length == 0 ? null : sorted[Math.Clamp((int)Math.Ceiling(fraction * sorted.Length) - 1, 0, sorted.Length - 1)];
}
