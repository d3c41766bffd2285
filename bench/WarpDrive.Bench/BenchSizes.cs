namespace WarpDrive.Bench;

/// <summary>How big each workload's data is and how often each figure is repeated.</summary>
internal sealed record BenchSizes(
    int Shards, int ShardMiB, int Readers, int RandomReads, int EpochShards, int EpochShardMiB, int MetaObjects, int Repeats, int MetaRepeats)
{
    /// <summary>Sized to finish well under three minutes on two cores: one run per figure, so no median.</summary>
    public static BenchSizes Quick { get; } = new(Shards: 4, ShardMiB: 8, Readers: 4, RandomReads: 200, EpochShards: 16, EpochShardMiB: 1, MetaObjects: 2_000, Repeats: 1, MetaRepeats: 1);

    public static BenchSizes Full { get; } = new(Shards: 4, ShardMiB: 32, Readers: 4, RandomReads: 1_000, EpochShards: 32, EpochShardMiB: 2, MetaObjects: 10_000, Repeats: 3, MetaRepeats: 1);

    /// <summary>Longest a single cold random-read pass may take; over high latency it stops early and says how many it did.</summary>
    public TimeSpan RandomReadCap { get; init; } = TimeSpan.FromSeconds(20);
}
