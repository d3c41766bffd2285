using System.Text.Json;

namespace WarpDrive.Bench;

/// <summary>
/// seqread: N shard files of S MiB read by K readers, natively from the source directory and through a
/// WarpDrive mount of it (local backend), cold (page cache dropped) and hot (second pass), median of R runs.
/// </summary>
internal sealed class SeqReadWorkload(string workDirectory, int files, int sizeMiB, int readers, int repeats)
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    public async Task<int> RunAsync(string? jsonPath)
    {
        var dataset = new Dataset(Path.Combine(workDirectory, "source"), files, sizeMiB);
        Console.WriteLine($"seqread: {files} files x {sizeMiB} MiB, {readers} readers, median of {repeats}; machine: {Environment.ProcessorCount} cores, {Environment.OSVersion.VersionString}");
        dataset.EnsureCreated();
        var mountPoint = Path.Combine(workDirectory, "mnt");
        Directory.CreateDirectory(mountPoint);
        var configPath = Path.Combine(workDirectory, "bench-config.yaml");
        await File.WriteAllTextAsync(configPath, $"""
            mount_point: {mountPoint}
            cache:
              path: {Path.Combine(workDirectory, "cache")}
            backends:
              - name: bench
                type: local
                mount_path: /bench
                config:
                  root: {dataset.Root}
            """).ConfigureAwait(false);

        var canDrop = PageCache.TryDrop();
        if (!canDrop)
        {
            Console.WriteLine("warning: cannot drop the page cache (not root): cold figures are not cold");
        }

        var results = new List<Row>();
        results.Add(Measure("native", "cold", () => Read(dataset.Root, dataset, dropFirst: true)));
        results.Add(Measure("native", "hot", () => Read(dataset.Root, dataset, dropFirst: false)));
        double peakRss;
        TimeSpan agentCpu;
        using (var agent = AgentProcess.Start(configPath, mountPoint))
        {
            var mounted = Path.Combine(mountPoint, "bench");
            results.Add(Measure("warpdrive-local", "cold", () => Read(mounted, dataset, dropFirst: true)));
            results.Add(Measure("warpdrive-local", "hot", () => Read(mounted, dataset, dropFirst: false)));
            peakRss = agent.PeakRssMiB();
            agentCpu = agent.CpuTime();
        }

        Console.WriteLine();
        Console.WriteLine($"{"target",-18} {"mode",-5} {"MiB/s",10} {"vs native",10}");
        foreach (var row in results)
        {
            var native = results.First(r => r.Target == "native" && r.Mode == row.Mode).MiBPerSecond;
            Console.WriteLine($"{row.Target,-18} {row.Mode,-5} {row.MiBPerSecond,10:F0} {row.MiBPerSecond / native,9:F2}x");
        }

        Console.WriteLine($"agent: peak RSS {peakRss:F0} MiB, CPU {agentCpu.TotalSeconds:F1} s");
        var cold = results.First(r => r.Target != "native" && r.Mode == "cold").MiBPerSecond / results.First(r => r.Target == "native" && r.Mode == "cold").MiBPerSecond;
        Console.WriteLine($"mount/native ratio (cold): {cold:F2}");

        if (jsonPath is not null)
        {
            var report = new { workload = "seqread", files, sizeMiB, readers, repeats, cores = Environment.ProcessorCount, peakRssMiB = peakRss, agentCpuSeconds = agentCpu.TotalSeconds, results };
            await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report, JsonOptions)).ConfigureAwait(false);
        }

        return 0;
    }

    private double Read(string root, Dataset dataset, bool dropFirst)
    {
        if (dropFirst)
        {
            PageCache.TryDrop();
        }

        var (mibps, bytes, _) = SequentialReader.Run(root, dataset.RelativePaths, readers);
        if (bytes != dataset.TotalBytes)
        {
            throw new InvalidOperationException($"read {bytes} bytes from {root}, expected {dataset.TotalBytes}");
        }

        return mibps;
    }

    private Row Measure(string target, string mode, Func<double> run)
    {
        var samples = Enumerable.Range(0, repeats).Select(_ => run()).Order().ToArray();
        var median = samples[samples.Length / 2];
        Console.WriteLine($"  {target} {mode}: {string.Join(", ", samples.Select(s => s.ToString("F0")))} MiB/s");
        return new Row(target, mode, median);
    }

    private sealed record Row(string Target, string Mode, double MiBPerSecond);
}
