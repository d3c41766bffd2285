using WarpDrive.Bench.Targets;

namespace WarpDrive.Bench.Workloads;

/// <summary>seqread: the shard files read front to back by K parallel readers in 1 MiB reads; cold, then hot.</summary>
internal sealed class SeqReadBench(BenchDataset data, BenchSizes sizes) : IWorkload
{
    public string Name => "seqread";

    public string Description => $"{sizes.Shards} files x {sizes.ShardMiB} MiB read sequentially by {sizes.Readers} readers (MiB/s, higher is better)";

    public IReadOnlyList<Row> Run(ITarget target)
    {
        var cold = new Figure(Name, target, "cold", "MiB/s", higherIsBetter: true) { BytesPerRun = data.ShardsTotalBytes };
        var hot = new Figure(Name, target, "hot", "MiB/s", higherIsBetter: true) { BytesPerRun = data.ShardsTotalBytes };
        for (var run = 0; run < sizes.Repeats; run++)
        {
            target.MakeCold();
            cold.Measure(() => ReadAll(target));
            target.MakeHot();
            hot.Measure(() => ReadAll(target));
        }

        return [cold.Build(), hot.Build()];
    }

    private double ReadAll(ITarget target)
    {
        var (mibps, bytes, _) = SequentialReader.Run(target.Root, data.Shards, sizes.Readers);
        return bytes == data.ShardsTotalBytes ? mibps : throw new InvalidOperationException($"{target.Name}: read {bytes} bytes, expected {data.ShardsTotalBytes}");
    }
}
