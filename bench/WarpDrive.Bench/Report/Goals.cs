namespace WarpDrive.Bench.Report;

/// <summary>One of WarpDrive's performance goals, checked against a run's rows.</summary>
internal sealed record Goal(string Text, string Measured, bool? Met);

/// <summary>Evaluates the goals from the rows; a goal whose inputs were not measured is "n/a", never a pass.</summary>
internal static class Goals
{
    /// <summary>Default readahead_blocks (4) x block_size (4 MiB): what one sequential reader may have prefetched.</summary>
    private const double ReadaheadMiBPerReader = 4 * 4;

    public static IReadOnlyList<Goal> Evaluate(IReadOnlyList<Row> rows, int readers)
    {
        Row? Find(string workload, string target, string mode) => rows.FirstOrDefault(r => r.Workload == workload && r.Target == target && r.Mode == mode);
        static string F(double? v, string format = "F2") => v is { } x ? x.ToString(format) : "n/a";
        var goals = new List<Goal>();

        var nativeHot = Find("seqread", "native", "hot");
        var localHot = Find("seqread", "warpdrive-local", "hot");
        var hotRatio = localHot?.TimesBetterThan(nativeHot);
        var otherHot = string.Join(", ", new[] { "warpdrive-s3", "warpdrive-azure" }.Select(t => $"{t} {F(Find("seqread", t, "hot")?.TimesBetterThan(nativeHot))}x"));
        goals.Add(new Goal("hot sequential read ≥ 0.6 × native", $"warpdrive-local {F(hotRatio)}x ({otherHot})", hotRatio is { } a ? a >= 0.6 : null));
        goals.Add(new Goal("hot sequential read ≥ 0.9 × native with passthrough (on by default)", $"warpdrive-local {F(hotRatio)}x", hotRatio is { } b ? b >= 0.9 : null));

        var s3Cold = Find("seqread", "warpdrive-s3", "cold");
        foreach (var peer in new[] { "rclone-mount", "s3fs" })
        {
            var ratio = s3Cold?.TimesBetterThan(Find("seqread", peer, "cold"));
            goals.Add(new Goal($"cold sequential read over S3 (latency proxy) ≥ 2 × {peer}", $"{F(ratio)}x", ratio is { } r ? r >= 2 : null));
        }

        var metaRatio = Find("meta", "warpdrive-s3", "hot")?.TimesBetterThan(Find("meta", "rclone-mount", "hot"));
        goals.Add(new Goal("second metadata walk ≥ 2 × faster than rclone mount (both over S3)", $"{F(metaRatio)}x", metaRatio is { } m ? m >= 2 : null));

        var hitRate = Find("seqread", "warpdrive-s3", "cold")?.ReadaheadHitRate;
        goals.Add(new Goal("readahead hit rate ≥ 95 % on seqread (warpdrive-s3, cold)", hitRate is { } h ? $"{h:P1}" : "n/a (agent /metrics not available)", hitRate is { } hr ? hr >= 0.95 : null));

        var random = Find("randread", "warpdrive-local", "hot");
        goals.Add(new Goal("hot random 128 KiB read p50 ≤ 200 µs (warpdrive-local)", $"{F(random?.P50Us, "F0")} µs", random?.P50Us is { } p50 ? p50 <= 200 : null));
        goals.Add(new Goal("hot random 128 KiB read p99 ≤ 1 ms (warpdrive-local)", $"{F(random?.P99Us, "F0")} µs", random?.P99Us is { } p99 ? p99 <= 1000 : null));

        var budget = 300 + (ReadaheadMiBPerReader * readers);
        var peak = rows.Where(r => r.Target.StartsWith("warpdrive", StringComparison.Ordinal) && r.PeakRssMiB is not null).Select(r => r.PeakRssMiB!.Value).DefaultIfEmpty().Max();
        goals.Add(new Goal($"agent peak RSS ≤ 300 MiB + readahead budget ({ReadaheadMiBPerReader:F0} MiB x {readers} readers = {budget:F0} MiB)", peak > 0 ? $"{peak:F0} MiB" : "n/a", peak > 0 ? peak <= budget : null));
        return goals;
    }

    public static string Verdict(bool? met) => met switch { true => "met", false => "NOT met", null => "n/a" };
}
