using System.Diagnostics;
using Microsoft.Win32.SafeHandles;
using WarpDrive.Bench.Targets;

namespace WarpDrive.Bench.Workloads;

/// <summary>
/// randread: one reader doing 128 KiB reads at random 4 KiB-aligned offsets of random shards, every read timed.
/// Cold starts from empty caches (bounded by a time cap over slow remotes); hot first reads every shard once so
/// the target's cache holds them, then drops the page cache (mounts) before the timed reads.
/// </summary>
internal sealed class RandReadBench(BenchDataset data, BenchSizes sizes) : IWorkload
{
    private const int ReadBytes = 128 * 1024;

    public string Name => "randread";

    public string Description => $"{sizes.RandomReads} reads of 128 KiB at random offsets of {sizes.Shards} x {sizes.ShardMiB} MiB files, one reader (p50 latency in µs, lower is better)";

    public IReadOnlyList<Row> Run(ITarget target)
    {
        var cold = new Figure(Name, target, "cold", "p50 µs", higherIsBetter: false);
        var hot = new Figure(Name, target, "hot", "p50 µs", higherIsBetter: false);
        var coldDone = int.MaxValue;
        for (var run = 0; run < sizes.Repeats; run++)
        {
            target.MakeCold();
            var (coldLatencies, coldValue) = Timed(target, run, sizes.RandomReadCap);
            coldDone = Math.Min(coldDone, coldLatencies.Count);
            cold.Measure(() => coldValue);
            cold.AddLatencies(coldLatencies);

            SequentialReader.Run(target.Root, data.Shards, sizes.Readers);
            target.MakeHot();
            var (hotLatencies, hotValue) = Timed(target, run + 1000, TimeSpan.MaxValue);
            hot.Measure(() => hotValue);
            hot.AddLatencies(hotLatencies);
        }

        if (coldDone < sizes.RandomReads)
        {
            cold.Note = $"time cap {sizes.RandomReadCap.TotalSeconds:F0} s: {coldDone} of {sizes.RandomReads} reads";
        }

        return [cold.Build(), hot.Build()];
    }

    /// <summary>Does the random reads; returns each read's latency in µs and the run's median.</summary>
    private (List<double> Latencies, double P50) Timed(ITarget target, int seed, TimeSpan cap)
    {
        var handles = data.Shards.Select(s => File.OpenHandle(Path.Combine(target.Root, s), FileMode.Open, FileAccess.Read)).ToArray();
        try
        {
            var random = new Random(seed);
            var buffer = new byte[ReadBytes];
            var latencies = new List<double>(sizes.RandomReads);
            var slots = (data.ShardBytes - ReadBytes) / 4096;
            var total = Stopwatch.StartNew();
            for (var i = 0; i < sizes.RandomReads && total.Elapsed < cap; i++)
            {
                var handle = handles[random.Next(handles.Length)];
                var offset = random.NextInt64(0, slots + 1) * 4096;
                var start = Stopwatch.GetTimestamp();
                ReadFully(handle, buffer, offset);
                latencies.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
            }

            return (latencies, Figure.Median(latencies));
        }
        finally
        {
            foreach (var handle in handles)
            {
                handle.Dispose();
            }
        }
    }

    private static void ReadFully(SafeFileHandle handle, byte[] buffer, long offset)
    {
        var done = 0;
        while (done < buffer.Length)
        {
            var read = RandomAccess.Read(handle, buffer.AsSpan(done), offset + done);
            if (read == 0)
            {
                throw new InvalidOperationException($"short read at {offset + done}");
            }

            done += read;
        }
    }
}
