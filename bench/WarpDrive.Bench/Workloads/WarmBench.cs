using System.Diagnostics;
using WarpDrive.Bench.Targets;

namespace WarpDrive.Bench.Workloads;

/// <summary>
/// warm: time to get the whole shards/ prefix into the target's cache from empty. With a warpdrive-ctl given
/// (<c>--ctl</c>, an executable or warpdrive-ctl.dll) WarpDrive targets are warmed by
/// `warpdrive-ctl warm --mount &lt;root&gt; --prefix shards&lt;S&gt;m` (it reads through the running agent); otherwise every target is warmed
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
        string[] arguments = ["warm", "--mount", target.Root, "--prefix", data.ShardsDirectory, "--workers", (sizes.Readers * 2).ToString()];
        var dll = ctlPath!.EndsWith(".dll", StringComparison.Ordinal);
        var start = new ProcessStartInfo(dll ? "dotnet" : ctlPath) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in dll ? [ctlPath, .. arguments] : arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var ctl = Process.Start(start)!;
        // Drained so its progress lines neither fill a pipe nor clutter the table.
        var output = ctl.StandardOutput.ReadToEndAsync();
        var errors = ctl.StandardError.ReadToEndAsync();
        ctl.WaitForExit();
        Task.WaitAll(output, errors);
        return ctl.ExitCode == 0 ? clock.Elapsed.TotalSeconds : throw new InvalidOperationException($"warpdrive-ctl warm exited {ctl.ExitCode}");
    }
}
