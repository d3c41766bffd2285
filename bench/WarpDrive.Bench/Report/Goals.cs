namespace WarpDrive.Bench.Report;

/// <summary>One of WarpDrive's performance goals, checked against a run's rows.</summary>
internal sealed record Goal(string Text, string Measured, bool? Met);

/// <summary>
/// Evaluates the goals from the rows; a goal whose inputs were not measured is "n/a", never a pass. Ratios compare
/// figures of one run, side by side; remote goals use the run's latency round trip (<c>--latency-ms</c>).
/// </summary>
internal static class Goals
{
    /// <summary>Default readahead_blocks (4) x block_size (4 MiB): what one sequential reader may have prefetched.</summary>
    private const double ReadaheadMiBPerReader = 4 * 4;

    private static readonly string[] Peers = ["rclone-mount", "s3fs"];

    public static IReadOnlyList<Goal> Evaluate(IReadOnlyList<Row> rows, int readers, int rttMs)
    {
        Row? Find(string workload, string target, string mode, int? rtt = null) =>
            rows.FirstOrDefault(r => r.Workload == workload && r.Target == target && r.Mode == mode && r.RttMs == rtt);
        static string F(double? v, string format = "F2") => v is { } x ? x.ToString(format) : "n/a";
        var goals = new List<Goal>();

        // The better of rclone mount and s3fs at this round trip: the one WarpDrive is compared with.
        Row? BestPeer(string workload, string mode) => Peers.Select(p => Find(workload, p, mode, rttMs)).Where(r => r is not null)
            .OrderByDescending(r => r!.HigherIsBetter ? r.Value : -r.Value).FirstOrDefault();
        void VersusBestPeer(string workload, string mode, string text, double needed)
        {
            var mine = Find(workload, "warpdrive-s3", mode, rttMs);
            var best = BestPeer(workload, mode);
            var ratio = mine?.TimesBetterThan(best);
            goals.Add(new Goal($"{text} ≥ {needed} × the better of rclone mount and s3fs", best is null ? $"{F(ratio)}x" : $"{F(ratio)}x ({best.Target})", ratio is { } r ? r >= needed : null));
        }

        VersusBestPeer("seqread", "cold", $"cold sequential read over S3 at {rttMs} ms, MiB/s,", 2);
        var cpuMine = Find("seqread", "warpdrive-s3", "cold", rttMs)?.CpuSecondsPerGiB;
        var cpuS3fs = Find("seqread", "s3fs", "cold", rttMs)?.CpuSecondsPerGiB;
        var cpuRatio = cpuMine is { } a && cpuS3fs is { } b && b > 0 ? a / b : (double?)null;
        goals.Add(new Goal($"cold sequential read over S3 at {rttMs} ms: CPU per GiB ≤ 0.5 × s3fs's", $"{F(cpuRatio)}x ({F(cpuMine)} vs {F(cpuS3fs)} CPU s/GiB)", cpuRatio is { } c ? c <= 0.5 : null));
        VersusBestPeer("smallfiles", "cold", $"cold small files over S3 at {rttMs} ms, files/s,", 3);
        VersusBestPeer("pytorch-jpeg", "cold", $"PyTorch DataLoader (JPEG files) cold epoch over S3 at {rttMs} ms, samples/s,", 2);
        VersusBestPeer("pytorch-tar", "cold", $"PyTorch DataLoader (tar shards) cold epoch over S3 at {rttMs} ms, samples/s,", 2);
        foreach (var workload in new[] { "pytorch-jpeg", "pytorch-tar" })
        {
            var warm = Find(workload, "warpdrive-s3", "hot", rttMs)?.TimesBetterThan(Find(workload, "native", "hot"));
            goals.Add(new Goal($"{workload}: warm epoch over S3 ≥ 0.9 × native", $"{F(warm)}x", warm is { } w ? w >= 0.9 : null));
        }

        var localCold = Find("seqread", "warpdrive-local", "cold")?.TimesBetterThan(Find("seqread", "native", "cold"));
        goals.Add(new Goal("`local` backend on a local disk, cold sequential read ≥ 0.9 × native (cold)", $"{F(localCold)}x", localCold is { } l ? l >= 0.9 : null));
        var smallLocal = Find("smallfiles", "warpdrive-local", "cold")?.TimesBetterThan(Find("smallfiles", "native", "cold"));
        goals.Add(new Goal("`local` backend on a local disk, cold small files ≥ 0.9 × native (cold)", $"{F(smallLocal)}x", smallLocal is { } sl ? sl >= 0.9 : null));

        var hot = Find("seqread", "warpdrive-local", "hot")?.TimesBetterThan(Find("seqread", "native", "hot"));
        goals.Add(new Goal("hot sequential read (warpdrive-local) ≥ 0.9 × native hot", $"{F(hot)}x", hot is { } h ? h >= 0.9 : null));
        var epochHot = Find("epoch", "warpdrive-s3", "hot", rttMs)?.TimesBetterThan(Find("epoch", "native", "hot"));
        goals.Add(new Goal($"hot epoch over S3 at {rttMs} ms ≥ 0.9 × native hot", $"{F(epochHot)}x", epochHot is { } e ? e >= 0.9 : null));
        var random = Find("randread", "warpdrive-local", "hot");
        goals.Add(new Goal("hot random 128 KiB read p99 ≤ 1 ms (warpdrive-local)", $"{F(random?.P99Us, "F0")} µs", random?.P99Us is { } p99 ? p99 <= 1000 : null));

        var metaRatio = Find("meta", "warpdrive-s3", "hot", rttMs)?.TimesBetterThan(Find("meta", "rclone-mount", "hot", rttMs));
        goals.Add(new Goal($"second metadata walk over S3 at {rttMs} ms ≥ 2 × rclone mount", $"{F(metaRatio)}x", metaRatio is { } m ? m >= 2 : null));
        var hitRate = Find("seqread", "warpdrive-s3", "cold", rttMs)?.ReadaheadHitRate;
        goals.Add(new Goal($"readahead hit rate ≥ 95 % on seqread (warpdrive-s3 at {rttMs} ms, cold)", hitRate is { } hr0 ? $"{hr0:P1}" : "n/a (agent /metrics not available)", hitRate is { } hr ? hr >= 0.95 : null));
        var budget = 300 + (ReadaheadMiBPerReader * readers);
        var peak = rows.Where(r => r.Target.StartsWith("warpdrive", StringComparison.Ordinal) && r.PeakRssMiB is not null).Select(r => r.PeakRssMiB!.Value).DefaultIfEmpty().Max();
        goals.Add(new Goal($"agent peak RSS ≤ 300 MiB + readahead budget ({ReadaheadMiBPerReader:F0} MiB x {readers} readers = {budget:F0} MiB)", peak > 0 ? $"{peak:F0} MiB" : "n/a", peak > 0 ? peak <= budget : null));
        return goals;
    }

    public static string Verdict(bool? met) => met switch { true => "met", false => "NOT met", null => "n/a" };
}
