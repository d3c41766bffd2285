using System.CommandLine;
using System.Diagnostics;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using WarpDrive.Backends;
using WarpDrive.Ctl.Infrastructure;

namespace WarpDrive.Ctl.Commands;

/// <summary>
/// <c>move</c>: copies every object under a source prefix to a destination prefix (possibly another backend type),
/// verifies each copy by reading it back (size and XxHash128 against the bytes read from the source), journals it,
/// and only then — with --delete-source — deletes the source object. --resume skips objects the journal shows were
/// verified from the same source version (size and ETag) and whose copy still has that size.
/// </summary>
internal static class MoveCommand
{
    public static Command Create(GlobalOptions g)
    {
        var from = new Option<string>("--from") { Description = "Source as BACKEND:PATH (a prefix or one object).", Required = true };
        var to = new Option<string>("--to") { Description = "Destination as BACKEND:PATH.", Required = true };
        var config = new Option<FileInfo?>("--config") { Description = $"Node agent config file that defines both backends (default {NodeBackends.DefaultConfigPath}, as the agent)." };
        var deleteSource = new Option<bool>("--delete-source") { Description = "Delete each source object after its copy is verified (a move)." };
        var resume = new Option<bool>("--resume") { Description = "Skip objects an earlier run already copied and verified (see --state)." };
        var state = new Option<FileInfo?>("--state") { Description = "Journal of verified copies (default: warpdrive-move-<hash>.jsonl in the current directory)." };
        var workers = Counts.Option("--workers", "Objects copied in parallel (1 to 64).", 4, 1, 64);
        var command = new Command("move", "Copy or move objects between backends, verified by checksum, resumable.") { from, to, config, deleteSource, resume, state, workers };
        command.SetAction(async (parsed, ct) =>
        {
            var terminal = Terminal.Create(parsed.GetValue(g.NoColor));
            var (fromBackend, fromPath) = NodeBackends.ParseLocation(parsed.GetValue(from)!, "--from");
            var (toBackend, toPath) = NodeBackends.ParseLocation(parsed.GetValue(to)!, "--to");
            if (fromBackend == toBackend && (toPath == fromPath || toPath.StartsWith(fromPath + "/", StringComparison.Ordinal) || fromPath.Length == 0))
            {
                throw new CtlException("--to must not be --from or inside it", ExitCodes.Usage);
            }

            var nodeConfig = NodeBackends.LoadConfig(parsed.GetValue(config) ?? NodeBackends.DefaultConfig("the config that defines both backends"));
            await using var source = NodeBackends.Create(nodeConfig, NodeBackends.Find(nodeConfig, fromBackend));
            await using var destination = NodeBackends.Create(nodeConfig, NodeBackends.Find(nodeConfig, toBackend));
            var statePath = parsed.GetValue(state)?.FullName ?? DefaultStatePath(parsed.GetValue(from)!, parsed.GetValue(to)!);
            using var journal = MoveState.Open(statePath, parsed.GetValue(resume));
            var job = new MoveJob(source, fromPath, destination, toPath, journal, parsed.GetValue(deleteSource));
            var progress = new TransferProgress(terminal, parsed.GetValue(deleteSource) ? "move" : "copy");
            MoveJob.Result result;
            try
            {
                result = await progress.RunAsync(() => job.RunAsync(parsed.GetValue(workers), progress, ct));
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                terminal.Note($"move: interrupted; verified copies are journaled in {statePath}: run again with --resume to continue");
                return ExitCodes.Failure;
            }

            foreach (var failure in result.Failures)
            {
                terminal.Error(failure);
            }

            var summary = new Dictionary<string, object>
            {
                ["objects"] = result.Objects,
                ["copied"] = result.Copied,
                ["skipped"] = result.Skipped,
                ["deleted"] = result.Deleted,
                ["failed"] = result.Failures.Count,
                ["bytes_copied"] = result.BytesCopied,
                ["state"] = statePath,
            };
            var format = parsed.GetValue(g.Format);
            if (format == OutputFormat.Table)
            {
                terminal.Print($"{result.Objects} objects: {result.Copied} copied and verified ({Sizes.Format(result.BytesCopied)}), {result.Skipped} skipped (already copied), " +
                                       $"{result.Deleted} sources deleted, {result.Failures.Count} failed; journal {statePath}");
            }
            else
            {
                ResultWriter.Write(terminal, format, [JsonSerializer.SerializeToElement(summary)], [.. summary.Keys.Select(k => new Column(k, k))]);
            }

            return result.Failures.Count == 0 ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return command;
    }

    private static string DefaultStatePath(string from, string to)
    {
        var hash = Convert.ToHexStringLower(XxHash64.Hash(Encoding.UTF8.GetBytes(from + "\n" + to)));
        return Path.Combine(Environment.CurrentDirectory, $"warpdrive-move-{hash}.jsonl");
    }
}

/// <summary>The copy-verify-journal-delete loop of one move, run with a fixed number of parallel workers.</summary>
internal sealed class MoveJob(IBackend source, string fromPath, IBackend destination, string toPath, MoveState journal, bool deleteSource)
{
    public sealed record Result(int Objects, int Copied, int Skipped, int Deleted, long BytesCopied, IReadOnlyList<string> Failures);

    public async Task<Result> RunAsync(int workers, IProgress<TransferSnapshot> progress, CancellationToken ct)
    {
        var objects = await ListAsync(ct);
        var total = objects.Sum(o => o.Size);
        var stopwatch = Stopwatch.StartNew();
        int done = 0, copied = 0, skipped = 0, deleted = 0;
        long bytes = 0, bytesDone = 0;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        // One object: --to names the copy, unless it is an existing directory. A prefix: --to is the new prefix.
        var single = objects.Count == 1 && objects[0].Path == fromPath;
        var intoDirectory = single && (toPath.Length == 0 || await IsDirectoryAsync(destination, toPath, ct));
        void Report() => progress.Report(new TransferSnapshot(Volatile.Read(ref done), objects.Count, Volatile.Read(ref skipped), Interlocked.Read(ref bytesDone), total, stopwatch.Elapsed));
        Report();
        await Parallel.ForEachAsync(objects, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = ct }, async (entry, token) =>
        {
            var target = single && !intoDirectory ? toPath : Join(toPath, single ? entry.Name : fromPath.Length == 0 ? entry.Path : entry.Path[(fromPath.Length + 1)..]);
            try
            {
                if (journal.Find(entry.Path) is { } record && record.Size == entry.Size && record.ETag == entry.ETag && record.Destination == target &&
                    await destination.StatAsync(target, token) is { IsDirectory: false } existing && existing.Size == entry.Size)
                {
                    Interlocked.Increment(ref skipped);
                }
                else
                {
                    await CopyAndVerifyAsync(entry, target, token);
                    Interlocked.Increment(ref copied);
                    Interlocked.Add(ref bytes, entry.Size);
                }

                if (deleteSource)
                {
                    await source.DeleteAsync(entry.Path, token);
                    Interlocked.Increment(ref deleted);
                }
            }
            catch (Exception e) when (e is BackendException or IOException or VerificationException)
            {
                failures.Enqueue($"{source.Name}:{entry.Path}: {e.Message}");
            }

            Interlocked.Increment(ref done);
            Interlocked.Add(ref bytesDone, entry.Size);
            Report();
        });

        Report();
        return new Result(objects.Count, copied, skipped, deleted, bytes, [.. failures]);
    }

    private async Task<List<BackendEntry>> ListAsync(CancellationToken ct)
    {
        if (fromPath.Length > 0 && await source.StatAsync(fromPath, ct) is { IsDirectory: false } single)
        {
            return [single];
        }

        var objects = new List<BackendEntry>();
        await foreach (var entry in source.ListAsync(fromPath, recursive: true, ct))
        {
            if (!entry.IsDirectory)
            {
                objects.Add(entry);
            }
        }

        objects.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return objects;
    }

    private static string Join(string prefix, string relative) => prefix.Length == 0 ? relative : $"{prefix}/{relative}";

    private static async Task<bool> IsDirectoryAsync(IBackend backend, string path, CancellationToken ct) =>
        await backend.StatAsync(path, ct) is { IsDirectory: true };

    private async Task CopyAndVerifyAsync(BackendEntry entry, string target, CancellationToken ct)
    {
        string sourceHash;
        await using (var reading = new HashingReadStream(await source.OpenReadAsync(entry.Path, ct)))
        {
            await destination.WriteAsync(target, reading, ct);
            sourceHash = reading.HashHex();
            if (reading.BytesRead != entry.Size)
            {
                throw new VerificationException($"read {reading.BytesRead} bytes but the object has {entry.Size} (changed during the copy?)");
            }
        }

        var (copyHash, copyLength) = await HashingReadStream.HashAllAsync(await destination.OpenReadAsync(target, ct), ct);
        if (copyLength != entry.Size || copyHash != sourceHash)
        {
            throw new VerificationException($"the copy at {destination.Name}:{target} does not match (size {copyLength} vs {entry.Size}, xxh128 {copyHash} vs {sourceHash}); source kept");
        }

        journal.Add(new MoveRecord(entry.Path, target, entry.Size, entry.ETag, sourceHash));
    }
}

/// <summary>A copy read back differently from its source.</summary>
internal sealed class VerificationException(string message) : Exception(message);
