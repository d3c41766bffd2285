using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Azure.Storage;
using Azure.Storage.Blobs;
using WarpDrive.Backends;
using WarpDrive.Bench.Report;
using WarpDrive.Bench.S3;
using WarpDrive.Bench.Targets;
using WarpDrive.Bench.Workloads;

namespace WarpDrive.Bench;

/// <summary>Options of the `suite` command.</summary>
/// <param name="RttsMs">Round trips every S3 client is measured at (0 = straight to the responder, others through the proxy).</param>
/// <param name="AzureEndpoint">Azurite through the latency proxy (at <paramref name="LatencyMs"/>), null to skip warpdrive-azure.</param>
internal sealed record SuiteOptions(
    string WorkDirectory, string OutputDirectory, string? DocsDirectory, bool Quick, int LatencyMs, IReadOnlyList<int> RttsMs,
    IReadOnlyList<string> Targets, IReadOnlyList<string> Workloads, string? AzureEndpoint, string? AzureUploadEndpoint, string? CtlPath, int? MetaObjects);

/// <summary>
/// Runs every selected workload against every selected target, one target at a time (its server started and
/// stopped around its workloads), then writes the table, results.json, the charts and, if asked, docs/benchmarks.md.
/// </summary>
internal sealed class Suite(SuiteOptions options)
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };
    private ITarget? _current;

    public async Task<int> RunAsync()
    {
        var started = DateTime.UtcNow;
        var clock = Stopwatch.StartNew();
        var sizes = options.Quick ? BenchSizes.Quick : BenchSizes.Full;
        if (options.MetaObjects is { } metaObjects)
        {
            sizes = sizes with { MetaObjects = metaObjects };
        }

        Directory.CreateDirectory(options.WorkDirectory);
        Directory.CreateDirectory(options.OutputDirectory);
        ChildProcess.PidFile ??= Path.Combine(options.WorkDirectory, "children.pid");
        Remotes.ExportCredentials();
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, StopOnSignal);
        using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, StopOnSignal);
        if (!PageCache.TryDrop())
        {
            Console.WriteLine("warning: cannot drop the page cache (not root): cold figures are not cold");
        }

        var data = new BenchDataset(Path.Combine(options.WorkDirectory, "source"), sizes);
        Console.WriteLine($"dataset: {sizes.Shards} x {sizes.ShardMiB} MiB shards, {sizes.EpochShards} x {sizes.EpochShardMiB} MiB epoch shards, {sizes.MetaObjects:N0} meta objects");
        data.EnsureCreated();
        var failures = new List<string>();
        using var loader = StartPyTorch(data, sizes, failures);
        using var s3 = S3Remote.Start(options.WorkDirectory, data.Root, options.RttsMs);
        Console.WriteLine($"s3: the benchmark responder at {string.Join(", ", s3.Endpoints.Select(e => $"{e.Key} ms {e.Value}"))}");
        var remotes = new Remotes(s3.Endpoints, options.AzureEndpoint, options.AzureUploadEndpoint);
        await UploadAsync(data, remotes, failures).ConfigureAwait(false);

        var workloads = CreateWorkloads(data, sizes, loader).Where(w => options.Workloads.Contains(w.Name)).ToList();
        var rows = new List<Row>();
        foreach (var (name, rtt) in options.Targets.SelectMany(t => IsS3(t) ? options.RttsMs.Distinct().Select(r => (t, (int?)r)) : [(t, (int?)null)]))
        {
            using var target = CreateTarget(name, rtt, data, remotes);
            if (target is null)
            {
                failures.Add($"{name}: not available (no remote endpoint given, or unknown target)");
                continue;
            }

            var label = rtt is { } ms ? $"{name} @{ms}ms" : name;

            _current = target;
            foreach (var workload in workloads)
            {
                if (name == "warpdrive-azure" && workload.Name is "smallfiles" or "pytorch-jpeg" or "pytorch-tar")
                {
                    continue; // Azurite would need a copy of these trees; the S3 figures answer the question
                }

                var workloadClock = Stopwatch.StartNew();
                try
                {
                    var result = workload.Run(target);
                    rows.AddRange(result);
                    Console.WriteLine($"  {label,-22} {workload.Name,-10} {string.Join("  ", result.Select(r => $"{r.Mode} {r.Value:F1} {r.Metric}"))}  ({workloadClock.Elapsed.TotalSeconds:F0} s)");
                }
                catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or TimeoutException)
                {
                    failures.Add($"{label} / {workload.Name}: {e.Message}");
                    Console.WriteLine($"  {label,-22} {workload.Name,-10} FAILED: {e.Message}");
                }
            }

            _current = null;
        }

        var goals = Goals.Evaluate(rows, sizes.Readers, options.LatencyMs);
        var run = new BenchRun(started, clock.Elapsed, options.Quick, options.LatencyMs, sizes, MachineInfo.Read(options.WorkDirectory),
            workloads.Select(w => (w.Name, w.Description)).ToList(), rows, goals, failures);
        Print(run);
        await WriteJsonAsync(run).ConfigureAwait(false);
        var charts = workloads.ToDictionary(w => w.Name, w => Charts.Write(rows, w.Name, $"{w.Name}: {w.Description}".Split(" (")[0], Path.Combine(options.OutputDirectory, "charts")));
        if (options.DocsDirectory is not null)
        {
            MarkdownReport.Write(options.DocsDirectory, run with { Duration = clock.Elapsed }, charts);
        }

        Console.WriteLine($"wrote {Path.Combine(options.OutputDirectory, "results.json")} and charts in {clock.Elapsed.TotalSeconds:F0} s{(options.Quick ? " (quick mode: one run per figure, no median)" : "")}");
        return failures.Count == 0 ? 0 : 3;
    }

    private IWorkload[] CreateWorkloads(BenchDataset data, BenchSizes sizes, PyTorchLoader? loader)
    {
        IWorkload[] workloads =
        [
            new SeqReadBench(data, sizes),
            new RandReadBench(data, sizes),
            new MetaBench(data, sizes),
            new WarmBench(data, sizes, options.CtlPath),
            new EpochBench(data, sizes),
            new SmallFilesBench(data, sizes),
        ];
        return loader is null ? workloads : [.. workloads, new PyTorchBench(data, sizes, loader, "jpeg"), new PyTorchBench(data, sizes, loader, "tar")];
    }

    /// <summary>The PyTorch workloads' image tree and loader process; null (and a failure line) without Debian's torch.</summary>
    private PyTorchLoader? StartPyTorch(BenchDataset data, BenchSizes sizes, List<string> failures)
    {
        if (!options.Workloads.Any(w => w.StartsWith("pytorch", StringComparison.Ordinal)))
        {
            return null;
        }

        if (!PyTorchLoader.IsAvailable())
        {
            failures.Add($"pytorch-*: {PyTorchLoader.Python} cannot import torch and torchvision (apt-get install python3-torch python3-torchvision)");
            return null;
        }

        PyTorchLoader.Make(Path.Combine(data.Root, data.ImagesDirectory), sizes);
        return PyTorchLoader.Start(Path.Combine(options.WorkDirectory, "pytorch.log"));
    }

    /// <summary>Targets that read the S3 responder: each is measured at every round trip.</summary>
    private static bool IsS3(string target) => target is "warpdrive-s3" or "rclone-mount" or "s3fs";

    private ITarget? CreateTarget(string name, int? rtt, BenchDataset data, Remotes remotes)
    {
        var s3 = rtt is { } r && remotes.S3Endpoints.TryGetValue(r, out var endpoint) ? endpoint : null;
        return (name, s3) switch
        {
            ("native", _) => new NativeTarget(data.Root),
            ("warpdrive-local", _) => WarpDriveTarget.Local(options.WorkDirectory, data.Root),
            ("warpdrive-s3", { } e) => WarpDriveTarget.S3(options.WorkDirectory, e, rtt!.Value),
            ("rclone-mount", { } e) => new RcloneMountTarget(options.WorkDirectory, e, rtt!.Value),
            ("s3fs", { } e) => new S3fsTarget(options.WorkDirectory, e, rtt!.Value),
            ("warpdrive-azure", _) when remotes.AzureEndpoint is { } azure => WarpDriveTarget.Azure(options.WorkDirectory, azure, options.LatencyMs),
            _ => null,
        };
    }

    /// <summary>The S3 responder serves the dataset directory itself; only Azurite needs a copy.</summary>
    private async Task UploadAsync(BenchDataset data, Remotes remotes, List<string> failures)
    {
        if (options.Targets.Contains("warpdrive-azure") && remotes.AzureUploadEndpoint is not null)
        {
            try
            {
                var container = new BlobContainerClient(new Uri($"{remotes.AzureUploadEndpoint}/{Remotes.AzureAccount}/{Remotes.Container}"),
                    new StorageSharedKeyCredential(Remotes.AzureAccount, Remotes.AzureDevelopmentKey));
                await container.CreateIfNotExistsAsync().ConfigureAwait(false);
                await using var azure = BackendFactory.Create("bench-upload-azure", "azureblob", remotes.AzureConfig(upload: true));
                await data.UploadAsync(azure, 16).ConfigureAwait(false);
            }
            catch (Azure.RequestFailedException e)
            {
                failures.Add($"azure upload: {e.Status} {e.ErrorCode}");
            }
        }
    }

    private void Print(BenchRun run)
    {
        Console.WriteLine();
        foreach (var (name, description) in run.Workloads)
        {
            Console.WriteLine($"## {name}: {description}");
            Console.WriteLine(Tables.Render(run.Rows, name));
        }

        Console.WriteLine("## goals");
        foreach (var goal in run.Goals)
        {
            Console.WriteLine($"  [{Goals.Verdict(goal.Met),-7}] {goal.Text}: {goal.Measured}");
        }

        foreach (var failure in run.Failures)
        {
            Console.WriteLine($"  not measured: {failure}");
        }
    }

    private async Task WriteJsonAsync(BenchRun run)
    {
        var document = new
        {
            run.StartedUtc,
            durationSeconds = run.Duration.TotalSeconds,
            run.Quick,
            run.LatencyMs,
            run.Sizes,
            run.Machine,
            workloads = run.Workloads.Select(w => new { name = w.Name, description = w.Description }),
            run.Rows,
            run.Goals,
            run.Failures,
        };
        await File.WriteAllTextAsync(Path.Combine(options.OutputDirectory, "results.json"), JsonSerializer.Serialize(document, JsonOptions)).ConfigureAwait(false);
    }

    /// <summary>SIGTERM/SIGINT: stop the current target's server and unmount it before exiting.</summary>
    private void StopOnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _current?.Dispose();
        Environment.Exit(130);
    }
}
