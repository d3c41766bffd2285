using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Cache;
using WarpDrive.Ctl.Infrastructure;

namespace WarpDrive.Ctl.Commands;

/// <summary>
/// <c>warm</c>: fill the node cache with a prefix. With --config it opens the cache directory itself (the agent must be
/// stopped: RocksDB allows one owner); with --mount it reads the prefix through a running agent's mount; with --kube
/// it creates a WarpCacheWarm and follows its status.
/// Re-running resumes: blocks already cached with the current ETag are skipped by <see cref="BlockCache.WarmAsync"/>.
/// </summary>
internal static class WarmCommand
{
    public static Command Create(GlobalOptions g)
    {
        var config = new Option<FileInfo?>("--config") { Description = $"Node agent config file (backends and cache; default {NodeBackends.DefaultConfigPath}, as the agent)." };
        var prefix = new Option<string>("--prefix") { Description = "Prefix below the backend root to warm (a directory or a file).", Required = true };
        var backend = new Option<string?>("--backend") { Description = "Backend name in the config (needed when it has several); with --kube, the WarpDataSource." };
        var workers = Counts.Option("--workers", "Blocks fetched in parallel (1 to 256).", 8, 1, 256);
        var maxSize = Sizes.Option("--max-size", "Stop after downloading this much");
        var kube = new Option<bool>("--kube") { Description = "Warm through the cluster: create a WarpCacheWarm and follow it." };
        var ns = new Option<string>("--namespace") { Description = "Namespace of the WarpDataSource (with --kube).", DefaultValueFactory = _ => "default" };
        var mount = new Option<DirectoryInfo?>("--mount") { Description = "Warm through a running agent: its mount point; the prefix is read below <mount>/<backend> (a backend's default mount_path) or below <mount> without --backend." };
        var team = new Option<string?>("--team") { Description = "Check this team's quota with the control plane (--server, --token-file) first; a warm that would pass the hard limit is refused (exit 1)." };
        var command = new Command("warm", "Pre-fetch a prefix into the node cache, with progress; resumable; Ctrl-C stops cleanly.") { config, prefix, backend, workers, maxSize, kube, ns, mount, team };
        command.Validators.Add(r =>
        {
            if (r.GetValue(config) is not null && (r.GetValue(mount) is not null || r.GetValue(kube)))
            {
                r.AddError("--config warms the cache directly; it does not go with --mount or --kube");
            }

            if (r.GetValue(kube) && r.GetValue(backend) is null)
            {
                r.AddError("--kube needs --backend: the WarpDataSource to warm");
            }

            if (r.GetValue(team) is not null && r.GetValue(kube))
            {
                r.AddError("--team works with --config or --mount; in the cluster the WarpCacheWarm is not quota-checked yet");
            }

            if (r.GetValue(team) is not null && r.GetValue(mount) is not null && r.GetValue(backend) is null)
            {
                r.AddError("--team with --mount needs --backend: the quota is per backend");
            }
        });
        command.SetAction(async (parsed, ct) =>
        {
            var terminal = Terminal.Create(parsed.GetValue(g.NoColor));
            var format = parsed.GetValue(g.Format);
            if (parsed.GetValue(kube))
            {
                return await KubeWarm.RunAsync(terminal, parsed.GetValue(ns)!, parsed.GetValue(backend)!, parsed.GetValue(prefix)!, parsed.GetValue(workers), parsed.GetValue(maxSize), ct);
            }

            if (parsed.GetValue(mount) is { } mountDirectory)
            {
                var display = new TransferProgress(terminal, "warm");
                try
                {
                    var directory = parsed.GetValue(backend) is { } name ? Path.Combine(mountDirectory.FullName, name) : mountDirectory.FullName;
                    if (parsed.GetValue(team) is { } teamName)
                    {
                        var bytes = Math.Min(MountWarm.SizeOf(directory, parsed.GetValue(prefix)!), parsed.GetValue(maxSize) ?? long.MaxValue);
                        await WarmQuotaGate.CheckAsync(parsed.GetValue(g.Server)!, parsed.GetValue(g.TokenFile), teamName, parsed.GetValue(backend)!, bytes, terminal, ct);
                    }

                    var done = await MountWarm.RunAsync(directory, parsed.GetValue(prefix)!, parsed.GetValue(workers), parsed.GetValue(maxSize) ?? long.MaxValue, display, ct);
                    terminal.Print($"warmed {directory}/{parsed.GetValue(prefix)!.Trim('/')}: {done.FilesDone}/{done.FilesTotal} files, {Sizes.Format(done.BytesRead)} read through the agent" +
                                   (done.CapReached ? ", stopped at --max-size" : ""));
                    return ExitCodes.Ok;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    terminal.Note("warm: interrupted; what was read stays cached, run the same command again to resume");
                    return ExitCodes.Failure;
                }
            }

            var nodeConfig = NodeBackends.LoadConfig(parsed.GetValue(config) ?? NodeBackends.DefaultConfig("or --mount MOUNT_POINT to warm through a running agent"));
            var backendConfig = NodeBackends.Find(nodeConfig, parsed.GetValue(backend));
            await using var store = NodeBackends.Create(nodeConfig, backendConfig);
            var options = new WarmOptions { Workers = parsed.GetValue(workers), MaxBytes = parsed.GetValue(maxSize) ?? long.MaxValue };
            if (parsed.GetValue(team) is { } warmTeam)
            {
                long size = 0;
                await foreach (var entry in store.ListAsync(parsed.GetValue(prefix)!.Trim('/'), recursive: true, ct))
                {
                    size += entry.IsDirectory ? 0 : entry.Size;
                }

                await WarmQuotaGate.CheckAsync(parsed.GetValue(g.Server)!, parsed.GetValue(g.TokenFile), warmTeam, backendConfig.Name, Math.Min(size, options.MaxBytes), terminal, ct);
            }

            var cacheSettings = nodeConfig.Cache;
            var progress = new TransferProgress(terminal, "warm");
            WarmProgress result;
            try
            {
                result = await CacheDirectory.Open(cacheSettings.Path, cacheSettings.MaxSize, (int)cacheSettings.BlockSize, nodeConfig.MountPoint,
                    o => new BlockCache(o with
                    {
                        ReadaheadBlocks = cacheSettings.ReadaheadBlocks,
                        MaxParallelFetch = Math.Max(cacheSettings.MaxParallelFetch, options.Workers),
                        EvictHighWater = cacheSettings.EvictHighWater,
                        EvictLowWater = cacheSettings.EvictLowWater,
                    }, NullLogger.Instance),
                    cache => progress.RunAsync(() => cache.WarmAsync(store, parsed.GetValue(prefix)!.Trim('/'), options,
                        new Progress(progress), ct)),
                    ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                terminal.Note("warm: interrupted; what was fetched stays cached, run the same command again to resume");
                return ExitCodes.Failure;
            }

            if (result.FilesTotal == 0)
            {
                // Nothing to warm is almost always a typo in the prefix: say so rather than report success.
                throw new CtlException($"--prefix {parsed.GetValue(prefix)} matches nothing in backend '{backendConfig.Name}'");
            }

            var summary = new Dictionary<string, object>
            {
                ["backend"] = backendConfig.Name,
                ["prefix"] = parsed.GetValue(prefix)!,
                ["files_total"] = result.FilesTotal,
                ["files_done"] = result.FilesDone,
                ["files_skipped"] = result.FilesSkipped,
                ["bytes_downloaded"] = result.BytesDownloaded,
                ["bytes_missing"] = result.BytesToDownload,
                ["cap_reached"] = result.CapReached,
                ["seconds"] = Math.Round(result.Elapsed.TotalSeconds, 3),
            };
            if (format == OutputFormat.Table)
            {
                terminal.Print($"warmed {backendConfig.Name}:{parsed.GetValue(prefix)}: {result.FilesDone}/{result.FilesTotal} files complete " +
                                       $"({result.FilesSkipped} already cached), {Sizes.Format(result.BytesDownloaded)} downloaded" +
                                       (result.CapReached ? $", stopped at --max-size {Sizes.Format(options.MaxBytes)}" : ""));
            }
            else
            {
                ResultWriter.Write(terminal, format, [JsonSerializer.SerializeToElement(summary)],
                    [.. summary.Keys.Select(k => new Column(k, k))]);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private sealed class Progress(TransferProgress display) : IProgress<WarmProgress>
    {
        public void Report(WarmProgress value) =>
            display.Report(new TransferSnapshot(value.FilesDone, value.FilesTotal, value.FilesSkipped, value.BytesDownloaded, value.BytesToDownload, value.Elapsed));
    }
}
