using System.Diagnostics;
using WarpDrive.Bench.Targets;

namespace WarpDrive.Bench.Workloads;

/// <summary>
/// meta: walk the tree of tiny objects and stat every one, twice on the same mount. The first walk starts with
/// empty caches ("cold"); the second ("hot") is what a job sees when it lists its data again, e.g. each epoch.
/// </summary>
internal sealed class MetaBench(BenchDataset data, BenchSizes sizes) : IWorkload
{
    public string Name => "meta";

    public string Description => $"walk and stat {data.MetaObjects:N0} objects in {Math.Max(1, data.MetaObjects / 1000)} directories; first walk cold, second hot (objects/s, higher is better)";

    public IReadOnlyList<Row> Run(ITarget target)
    {
        var first = new Figure(Name, target, "cold", "objects/s", higherIsBetter: true);
        var second = new Figure(Name, target, "hot", "objects/s", higherIsBetter: true);
        for (var run = 0; run < sizes.MetaRepeats; run++)
        {
            target.MakeCold();
            first.Measure(() => Walk(target));
            second.Measure(() => Walk(target));
        }

        return [first.Build(), second.Build()];
    }

    private double Walk(ITarget target)
    {
        var clock = Stopwatch.StartNew();
        var count = 0;
        foreach (var path in Directory.EnumerateDirectories(target.Root, data.MetaPrefix + "*").SelectMany(d => Directory.EnumerateFiles(d)))
        {
            // FileInfo.Length makes the stat call a real lookup/getattr, as `ls -l` or a dataset index would.
            if (new FileInfo(path).Length >= 0)
            {
                count++;
            }
        }

        clock.Stop();
        return count == data.MetaObjects ? count / clock.Elapsed.TotalSeconds : throw new InvalidOperationException($"{target.Name}: walked {count} objects, expected {data.MetaObjects}");
    }
}
