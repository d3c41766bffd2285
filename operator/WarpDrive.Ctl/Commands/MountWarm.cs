using System.Diagnostics;
using WarpDrive.Ctl.Infrastructure;

namespace WarpDrive.Ctl.Commands;

/// <summary>
/// <c>warm --mount DIR</c>: warms through a running agent by reading every file under the prefix in its mount. The
/// agent caches what it serves (with readahead), so this needs neither the agent stopped nor its cache lock: the way
/// to warm from a Slurm prolog or an init container on a node whose agent is serving.
/// </summary>
internal static class MountWarm
{
    public sealed record Result(long FilesDone, long FilesTotal, long BytesRead, bool CapReached, TimeSpan Elapsed);

    /// <summary>Bytes of every file below the prefix in the mount (what a warm of it reads at most).</summary>
    public static long SizeOf(string mountDirectory, string prefix) => FilesOf(mountDirectory, prefix).Sum(f => f.Length);

    public static async Task<Result> RunAsync(string mountDirectory, string prefix, int workers, long maxBytes, TransferProgress progress, CancellationToken cancellationToken)
    {
        var files = FilesOf(mountDirectory, prefix);
        var total = files.Sum(f => f.Length);
        var clock = Stopwatch.StartNew();
        long bytesRead = 0;
        long filesDone = 0;
        var next = -1;
        var capReached = false;

        return await progress.RunAsync(async () =>
        {
            var readers = Enumerable.Range(0, Math.Clamp(workers, 1, 64)).Select(_ => Task.Run(() =>
            {
                var buffer = new byte[1 << 20];
                int index;
                while ((index = Interlocked.Increment(ref next)) < files.Count)
                {
                    if (Interlocked.Read(ref bytesRead) >= maxBytes)
                    {
                        Volatile.Write(ref capReached, true);
                        return;
                    }

                    using var handle = File.OpenHandle(files[index].FullName, FileMode.Open, FileAccess.Read);
                    long offset = 0;
                    int read;
                    while ((read = RandomAccess.Read(handle, buffer, offset)) > 0)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        offset += read;
                        Interlocked.Add(ref bytesRead, read);
                        progress.Report(new TransferSnapshot(Interlocked.Read(ref filesDone), files.Count, 0, Interlocked.Read(ref bytesRead), total, clock.Elapsed));
                    }

                    Interlocked.Increment(ref filesDone);
                }
            }, cancellationToken)).ToArray();
            await Task.WhenAll(readers).ConfigureAwait(false);
            progress.Report(new TransferSnapshot(filesDone, files.Count, 0, bytesRead, total, clock.Elapsed));
            return new Result(filesDone, files.Count, bytesRead, capReached, clock.Elapsed);
        }).ConfigureAwait(false);
    }

    private static List<FileInfo> FilesOf(string mountDirectory, string prefix)
    {
        var root = Path.GetFullPath(Path.Combine(mountDirectory, prefix.Trim('/')));
        if (!root.StartsWith(Path.GetFullPath(mountDirectory), StringComparison.Ordinal))
        {
            throw new CtlException($"--prefix {prefix} leaves the mount {mountDirectory}");
        }

        return File.Exists(root)
            ? [new FileInfo(root)]
            : Directory.Exists(root)
                ? new DirectoryInfo(root).EnumerateFiles("*", SearchOption.AllDirectories).OrderBy(f => f.FullName, StringComparer.Ordinal).ToList()
                : throw new CtlException($"{root} does not exist in the mount (is the agent serving {mountDirectory}?)");
    }
}
