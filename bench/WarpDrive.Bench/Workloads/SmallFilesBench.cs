using System.Diagnostics;
using WarpDrive.Bench.Targets;

namespace WarpDrive.Bench.Workloads;

/// <summary>
/// smallfiles: the small-files tree (100–200 KiB each, ImageNet-like) read whole, in a shuffled order, by several
/// readers at once, as a data loader's workers do: open, read to the end, close. Cold, then hot. Files/s.
/// </summary>
internal sealed class SmallFilesBench(BenchDataset data, BenchSizes sizes) : IWorkload
{
    public string Name => "smallfiles";

    public string Description => $"{sizes.SmallFiles:N0} files of 100–200 KiB in {sizes.SmallDirectories} directories, read whole in shuffled order by {sizes.SmallReaders} readers (files/s, higher is better)";

    public IReadOnlyList<Row> Run(ITarget target)
    {
        var total = data.SmallFilesTotalBytes;
        var cold = new Figure(Name, target, "cold", "files/s", higherIsBetter: true) { BytesPerRun = total };
        var hot = new Figure(Name, target, "hot", "files/s", higherIsBetter: true) { BytesPerRun = total };
        for (var run = 0; run < sizes.SlowRepeats; run++)
        {
            target.MakeCold();
            cold.Measure(() => ReadAll(target, new Random(run)));
            target.MakeHot();
            hot.Measure(() => ReadAll(target, new Random(run + 1000)));
        }

        return [cold.Build(), hot.Build()];
    }

    private double ReadAll(ITarget target, Random shuffle)
    {
        var order = data.SmallFiles.ToArray();
        shuffle.Shuffle(order);
        var clock = Stopwatch.StartNew();
        var (_, bytes, _) = SequentialReader.Run(target.Root, order, sizes.SmallReaders);
        clock.Stop();
        return bytes == data.SmallFilesTotalBytes
            ? order.Length / clock.Elapsed.TotalSeconds
            : throw new InvalidOperationException($"{target.Name}: read {bytes} bytes of the small files, expected {data.SmallFilesTotalBytes}");
    }
}
