using System.Diagnostics;
using System.Runtime.CompilerServices;
using WarpDrive.Backends;

namespace WarpDrive.Cache;

/// <summary>Bulk warming of a prefix.</summary>
public sealed partial class BlockCache
{
    /// <summary>
    /// Downloads every file under <paramref name="prefix"/> into the cache with <see cref="WarmOptions.Workers"/>
    /// parallel block fetches, until done or <see cref="WarmOptions.MaxBytes"/> were downloaded. Blocks already
    /// cached with the current ETag are skipped, so running it again resumes where a previous run stopped.
    /// </summary>
    public async Task<WarmProgress> WarmAsync(IBackend backend, string prefix, WarmOptions options, IProgress<WarmProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Workers);

        var stopwatch = Stopwatch.StartNew();
        var files = new List<BackendEntry>();
        await foreach (var entry in backend.ListAsync(prefix, recursive: true, cancellationToken))
        {
            if (!entry.IsDirectory)
            {
                files.Add(entry);
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        if (backend is IInPlaceSource { ServesInPlace: true })
        {
            // Served in place from local disk: there is nothing to copy, every file counts as already there.
            var nothing = new WarmProgress(files.Count, files.Count, files.Count, 0, 0, stopwatch.Elapsed, false);
            progress?.Report(nothing);
            return nothing;
        }

        var acquired = new List<CachedObject>();
        var work = new List<(CachedObject Object, long Index, StrongBox<int> Remaining)>();
        var filesDone = 0;
        var filesSkipped = 0;
        long bytesToDownload = 0;
        long downloaded = 0;
        var capReached = false;
        WarmProgress Current() => new(Volatile.Read(ref filesDone), files.Count, filesSkipped, Interlocked.Read(ref downloaded), bytesToDownload, stopwatch.Elapsed, Volatile.Read(ref capReached));

        try
        {
            foreach (var file in files)
            {
                var cachedObject = AcquireObject(backend.Name, file);
                acquired.Add(cachedObject);
                var missing = new List<long>();
                for (var index = 0L; index < cachedObject.BlockCount; index++)
                {
                    if (cachedObject.GetBlock(index) is null or { IsRetired: true })
                    {
                        missing.Add(index);
                        bytesToDownload += cachedObject.BlockLength(index);
                    }
                }

                if (missing.Count == 0)
                {
                    filesDone++;
                    filesSkipped++;
                    continue;
                }

                var remaining = new StrongBox<int>(missing.Count);
                work.AddRange(missing.Select(index => (cachedObject, index, remaining)));
            }

            progress?.Report(Current());
            // The byte budget is spent in listing order, before any fetch starts: which blocks a capped run warms
            // must not depend on which worker thread happens to run first.
            long reserved = 0;
            var budgeted = new List<(CachedObject Object, long Index, StrongBox<int> Remaining)>(work.Count);
            foreach (var item in work)
            {
                reserved += item.Object.BlockLength(item.Index);
                if (reserved > options.MaxBytes)
                {
                    capReached = true;
                    break;
                }

                budgeted.Add(item);
            }

            await Parallel.ForEachAsync(budgeted, new ParallelOptions { MaxDegreeOfParallelism = options.Workers, CancellationToken = cancellationToken }, async (item, token) =>
            {
                var length = item.Object.BlockLength(item.Index);
                await EnsureBlockAsync(backend, item.Object, item.Index, token);
                Interlocked.Add(ref downloaded, length);
                if (Interlocked.Decrement(ref item.Remaining.Value) == 0)
                {
                    Interlocked.Increment(ref filesDone);
                    progress?.Report(Current());
                }
            });
        }
        finally
        {
            foreach (var cachedObject in acquired)
            {
                cachedObject.Release();
            }
        }

        var final = Current();
        progress?.Report(final);
        return final;
    }

    /// <summary>Makes a block present (fetching it if needed) without counting it as a demand hit or miss.</summary>
    private async Task EnsureBlockAsync(IBackend backend, CachedObject cachedObject, long index, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 4; attempt++)
        {
            if (cachedObject.GetBlock(index) is { IsRetired: false } || cachedObject.IsDeleted)
            {
                return;
            }

            var fetch = GetOrStartFetch(backend, cachedObject, index, speculative: false, out _);
            if (!await fetch.Completion.Task.WaitAsync(cancellationToken) && !fetch.IsPlaceholder)
            {
                return;
            }
        }
    }
}
