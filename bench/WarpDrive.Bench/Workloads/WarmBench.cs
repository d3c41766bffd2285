using System.Diagnostics;
using WarpDrive.Bench.Targets;

namespace WarpDrive.Bench.Workloads;

/// <summary>
/// warm: time to get the whole shards/ prefix into the target's cache from empty. With a warpdrive-ctl given
/// (<c>--ctl</c>) WarpDrive targets are warmed by `warpdrive-ctl warm &lt;dir&gt;`; otherwise every target is warmed
/// by reading everything through the mount with 2K readers. Native "warming" is a cold read into the page cache.
/// </summary>
internal sealed class WarmBench(BenchDataset data, BenchSizes sizes, string? ctlPath) : IWorkload
{
    public string Name => "warm";

    public string Description => $"warm {sizes.Shards} x {sizes.ShardMiB} MiB into the cache from empty (seconds, lower is better)";

    public IReadOnlyList<Row> Run(ITarget target)
    {
        var useCtl = ctlPath is not null && target.IsWarpDrive;
        var figure = new Figure(Name, target, "cold", "s", higherIsBetter: false)
        {
            Note = useCtl ? "warpdrive-ctl warm" : "read through the mount",
        };
        for (var run = 0; run < sizes.Repeats; run++)
        {
            target.MakeCold();
            figure.Measure(() => useCtl ? WarmWithCtl(target) : WarmByReading(target));
        }

        return [figure.Build()];
    }

    private double WarmByReading(ITarget target) =>
        SequentialReader.Run(target.Root, data.Shards, sizes.Readers * 2).Elapsed.TotalSeconds;

    private double WarmWithCtl(ITarget target)
    {
        var clock = Stopwatch.StartNew();
        using var ctl = Process.Start(ctlPath!, ["warm", Path.Combine(target.Root, "shards")]);
        ctl.WaitForExit();
        return ctl.ExitCode == 0 ? clock.Elapsed.TotalSeconds : throw new InvalidOperationException($"warpdrive-ctl warm exited {ctl.ExitCode}");
    }
}
