namespace WarpDrive.Bench.Report;

/// <summary>Everything one suite run produced: what it ran on and with, its figures, goals and failures.</summary>
internal sealed record BenchRun(
    DateTime StartedUtc,
    TimeSpan Duration,
    bool Quick,
    int LatencyMs,
    BenchSizes Sizes,
    MachineInfo Machine,
    IReadOnlyList<(string Name, string Description)> Workloads,
    IReadOnlyList<Row> Rows,
    IReadOnlyList<Goal> Goals,
    IReadOnlyList<string> Failures);
