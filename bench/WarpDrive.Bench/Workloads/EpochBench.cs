using WarpDrive.Bench.Targets;

namespace WarpDrive.Bench.Workloads;

/// <summary>
/// epoch: the epoch/ shards read twice in a shuffled order (a new shuffle per epoch, as a data loader does) by K
/// readers, without dropping anything between epochs. Epoch 1 starts cold and is reported as "cold", epoch 2 as "hot".
/// </summary>
internal sealed class EpochBench(BenchDataset data, BenchSizes sizes) : IWorkload
{
    public string Name => "epoch";

    public string Description => $"{sizes.EpochShards} shards x {sizes.EpochShardMiB} MiB read in shuffled order by {sizes.Readers} readers, two epochs (MiB/s, higher is better)";

    public IReadOnlyList<Row> Run(ITarget target)
    {
        var first = new Figure(Name, target, "cold", "MiB/s", higherIsBetter: true) { Note = "epoch 1", BytesPerRun = data.EpochTotalBytes };
        var second = new Figure(Name, target, "hot", "MiB/s", higherIsBetter: true) { Note = "epoch 2", BytesPerRun = data.EpochTotalBytes };
        for (var run = 0; run < sizes.Repeats; run++)
        {
            target.MakeCold();
            first.Measure(() => Epoch(target, new Random(run * 2)));
            second.Measure(() => Epoch(target, new Random((run * 2) + 1)));
        }

        return [first.Build(), second.Build()];
    }

    private double Epoch(ITarget target, Random shuffle)
    {
        var order = data.EpochShards.ToArray();
        shuffle.Shuffle(order);
        var (mibps, bytes, _) = SequentialReader.Run(target.Root, order, sizes.Readers);
        return bytes == data.EpochTotalBytes ? mibps : throw new InvalidOperationException($"{target.Name}: read {bytes} bytes, expected {data.EpochTotalBytes}");
    }
}
