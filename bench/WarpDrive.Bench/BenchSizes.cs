namespace WarpDrive.Bench;

/// <summary>How big each workload's data is and how often each figure is repeated.</summary>
/// <param name="SmallFiles">Files of 100–200 KiB for the small-files workload, spread over <paramref name="SmallDirectories"/>.</param>
/// <param name="Images">JPEGs of the PyTorch workloads (ImageFolder tree and tar shards of the same images).</param>
/// <param name="SlowRepeats">Runs per figure of the workloads that read the whole small-file or image tree.</param>
internal sealed record BenchSizes(
    int Shards, int ShardMiB, int Readers, int RandomReads, int EpochShards, int EpochShardMiB, int MetaObjects, int Repeats, int MetaRepeats,
    int SmallFiles, int SmallDirectories, int SmallReaders, int Images, int ImageClasses, int ImageShards, int LoaderWorkers, int SlowRepeats)
{
    /// <summary>Sized to finish in about four minutes on two cores: one run per figure, so no median.</summary>
    public static BenchSizes Quick { get; } = new(Shards: 4, ShardMiB: 8, Readers: 4, RandomReads: 200, EpochShards: 16, EpochShardMiB: 1, MetaObjects: 2_000, Repeats: 1, MetaRepeats: 1,
        SmallFiles: 500, SmallDirectories: 5, SmallReaders: 8, Images: 400, ImageClasses: 8, ImageShards: 8, LoaderWorkers: 4, SlowRepeats: 1);

    /// <summary>
    /// The full run. The small-files tree is 10,000 files (~1.5 GiB) rather than ImageNet's scale: every client reads
    /// it cold and hot at two round trips, which at 10 ms and ~300 files/s (rclone, s3fs) already takes minutes.
    /// </summary>
    public static BenchSizes Full { get; } = new(Shards: 4, ShardMiB: 32, Readers: 4, RandomReads: 1_000, EpochShards: 32, EpochShardMiB: 2, MetaObjects: 10_000, Repeats: 3, MetaRepeats: 1,
        SmallFiles: 10_000, SmallDirectories: 100, SmallReaders: 8, Images: 4_000, ImageClasses: 20, ImageShards: 40, LoaderWorkers: 4, SlowRepeats: 1);

    /// <summary>Longest a single cold random-read pass may take; over high latency it stops early and says how many it did.</summary>
    public TimeSpan RandomReadCap { get; init; } = TimeSpan.FromSeconds(20);
}
