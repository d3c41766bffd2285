using System.Buffers;
using System.IO.Hashing;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using WarpDrive.Backends;

namespace WarpDrive.Cache;

/// <summary>The read path: hits, singleflight fetches, storing blocks, prefetch.</summary>
public sealed partial class BlockCache
{
    private enum ServeOutcome
    {
        Served,
        Absent,
        Corrupt,
    }

    /// <summary>
    /// Fills <paramref name="destination"/> from block <paramref name="index"/> starting at <paramref name="offsetInBlock"/>.
    /// True when the block was served from the cache without waiting on a fetch.
    /// </summary>
    internal async ValueTask<bool> ReadBlockAsync(IBackend backend, CachedObject cachedObject, long index, int offsetInBlock, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var missed = false;
        for (var attempt = 0; ; attempt++)
        {
            var entry = cachedObject.GetBlock(index);
            if (entry is not null)
            {
                var outcome = TryServe(cachedObject, index, entry, offsetInBlock, destination.Span);
                if (outcome == ServeOutcome.Served)
                {
                    if (!missed)
                    {
                        Interlocked.Increment(ref _counters.Hits);
                    }

                    if (entry.ConsumePrefetch())
                    {
                        Interlocked.Increment(ref _counters.ReadaheadHits);
                    }

                    Touch(cachedObject, entry);
                    return !missed;
                }

                if (outcome == ServeOutcome.Corrupt)
                {
                    OnCorruptBlock(cachedObject, index, entry);
                }
            }

            // Bounded: a block that keeps disappearing (evicted under pressure, object deleted) is read directly.
            if (attempt >= 3)
            {
                await ReadThroughAsync(backend, cachedObject, index, offsetInBlock, destination, cancellationToken);
                return false;
            }

            var fetch = GetOrStartFetch(backend, cachedObject, index, speculative: false, out _);
            if (!fetch.IsPlaceholder && !missed)
            {
                missed = true;
                Interlocked.Increment(ref _counters.Misses);
                if (fetch.Entry.ConsumePrefetch())
                {
                    Interlocked.Increment(ref _counters.ReadaheadHits);
                }
            }

            // The shared fetch runs on the cache's lifetime token: a waiter giving up never cancels it for the others.
            var stored = await fetch.Completion.Task.WaitAsync(cancellationToken);
            if (!stored && !fetch.IsPlaceholder)
            {
                await ReadThroughAsync(backend, cachedObject, index, offsetInBlock, destination, cancellationToken);
                return false;
            }
        }
    }

    /// <summary>
    /// Starts fetching a block unless it is present or already being fetched (multi-block reads). True when the block
    /// was not present: the read then waits on a fetch, even if that fetch is done by the time it looks.
    /// </summary>
    internal bool StartFetchIfMissing(IBackend backend, CachedObject cachedObject, long index)
    {
        if (cachedObject.GetBlock(index) is not null)
        {
            return false;
        }

        if (!cachedObject.IsDeleted)
        {
            GetOrStartFetch(backend, cachedObject, index, speculative: false, out _);
        }

        return true;
    }

    internal void SchedulePrefetch(IBackend backend, CachedObject cachedObject, long from, long count, PrefetchPriority priority)
    {
        for (var index = from; index < from + count; index++)
        {
            if (cachedObject.GetBlock(index) is null && !_inFlight.ContainsKey(new BlockKey(cachedObject, index)))
            {
                _prefetch.Enqueue(new PrefetchRequest(backend, cachedObject, index, cachedObject.BlockLength(index)), priority);
            }
        }
    }

    /// <summary>
    /// Serves from the data file, verifying exactly the 64 KiB sub-blocks the range touches before a byte is handed
    /// out: there is no trusted set, every read is checked. A sub-block-aligned range is read straight into
    /// <paramref name="destination"/> and verified there (on a mismatch the caller overwrites it with fetched bytes
    /// or fails the read); otherwise the touched sub-blocks go through a pooled buffer. A block from a record without
    /// sub-block sums is verified whole and upgraded. Synchronous pread: NVMe and page-cache reads take
    /// microseconds, less than a thread-pool hop.
    /// </summary>
    private ServeOutcome TryServe(CachedObject cachedObject, long index, BlockEntry entry, int offsetInBlock, Span<byte> destination)
    {
        if (!entry.TryEnterRead())
        {
            return ServeOutcome.Absent;
        }

        try
        {
            var file = cachedObject.GetHandle(create: false);
            if (file is null)
            {
                return ServeOutcome.Absent;
            }

            if (entry.Sums is not { } sums)
            {
                return ServeWhole(cachedObject, index, entry, file, offsetInBlock, destination);
            }

            const int Sub = SubBlockSums.SubBlockSize;
            var first = offsetInBlock / Sub;
            var start = first * Sub;
            var end = Math.Min(entry.Length, (offsetInBlock + destination.Length + Sub - 1) / Sub * Sub);
            var fileOffset = cachedObject.BlockOffset(index) + start;
            if (start == offsetInBlock && end == offsetInBlock + destination.Length)
            {
                return RandomAccess.Read(file, destination, fileOffset) == destination.Length && SubBlockSums.Verify(destination, first, sums)
                    ? ServeOutcome.Served
                    : ServeOutcome.Corrupt;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(end - start);
            try
            {
                var touched = buffer.AsSpan(0, end - start);
                if (RandomAccess.Read(file, touched, fileOffset) != touched.Length || !SubBlockSums.Verify(touched, first, sums))
                {
                    return ServeOutcome.Corrupt;
                }

                touched.Slice(offsetInBlock - start, destination.Length).CopyTo(destination);
                return ServeOutcome.Served;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        finally
        {
            entry.ExitRead();
        }
    }

    /// <summary>Checks every byte of a block as it is on disk now (passthrough opens, the scrub).</summary>
    private ServeOutcome VerifyWhole(CachedObject cachedObject, long index, BlockEntry entry)
    {
        if (!entry.TryEnterRead())
        {
            return ServeOutcome.Absent;
        }

        try
        {
            return cachedObject.GetHandle(create: false) is { } file
                ? ServeWhole(cachedObject, index, entry, file, 0, [])
                : ServeOutcome.Absent;
        }
        finally
        {
            entry.ExitRead();
        }
    }

    /// <summary>
    /// For a caller inside <see cref="BlockEntry.TryEnterRead"/>: reads the whole block into a pooled buffer and checks
    /// it against its sub-block sums or, for a record written before those existed, its whole-block XxHash3, after
    /// which its sums are computed and recorded. Then copies the wanted range out.
    /// </summary>
    private ServeOutcome ServeWhole(CachedObject cachedObject, long index, BlockEntry entry, SafeFileHandle file, int offsetInBlock, Span<byte> destination)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(entry.Length);
        try
        {
            var block = buffer.AsSpan(0, entry.Length);
            if (RandomAccess.Read(file, block, cachedObject.BlockOffset(index)) != block.Length)
            {
                return ServeOutcome.Corrupt;
            }

            if (entry.Sums is { } sums)
            {
                if (!SubBlockSums.Verify(block, 0, sums))
                {
                    return ServeOutcome.Corrupt;
                }
            }
            else if (XxHash3.HashToUInt64(block) == entry.LegacyChecksum)
            {
                UpgradeLegacyBlock(cachedObject, index, entry, block);
            }
            else
            {
                return ServeOutcome.Corrupt;
            }

            entry.MarkWholeVerified();
            block.Slice(offsetInBlock, destination.Length).CopyTo(destination);
            return ServeOutcome.Served;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Gives a verified block from an older record its sub-block sums, in memory and in its record. The caller is a
    /// reader of the block, so it cannot be removed (and its record deleted) meanwhile. If the record cannot be
    /// written the block still serves; the next start verifies it whole once more.
    /// </summary>
    private void UpgradeLegacyBlock(CachedObject cachedObject, long index, BlockEntry entry, ReadOnlySpan<byte> block)
    {
        // Two readers upgrading at once compute the same sums from the same verified bytes; the first one is kept.
        var sums = SubBlockSums.Compute(block);
        entry.SetSums(sums);
        if (cachedObject.IsDeleted)
        {
            return;
        }

        try
        {
            _metadata.PutBlock(cachedObject.Id, index, entry.Length, sums);
        }
        catch (RocksDbSharp.RocksDbException ex)
        {
            _logger.LogDebug(ex, "Could not record the sub-block sums of block {Index} of {Backend}:{Path}", index, cachedObject.Backend, cachedObject.Path);
        }
    }

    private void OnCorruptBlock(CachedObject cachedObject, long index, BlockEntry entry)
    {
        if (entry.MarkCorrupt())
        {
            Interlocked.Increment(ref _counters.ChecksumFailures);
            _logger.LogWarning("Cached block {Index} of {Backend}:{Path} no longer matches its checksum (disk corruption, a torn write or a hole); dropping it and refetching", index, cachedObject.Backend, cachedObject.Path);
        }

        // If other readers hold the block right now this fails; they see the mismatch too and the last one drops it.
        RemoveBlock(cachedObject, index, entry, respectPins: false);
    }

    private async ValueTask ReadThroughAsync(IBackend backend, CachedObject cachedObject, long index, int offsetInBlock, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var offset = cachedObject.BlockOffset(index) + offsetInBlock;
        var read = await backend.ReadVersionAtAsync(cachedObject.Path, cachedObject.ETag, offset, destination, cancellationToken);
        Interlocked.Increment(ref _counters.BackendFetches);
        if (read != destination.Length)
        {
            throw new BackendException(BackendErrorKind.Changed, backend.Name, $"{cachedObject.Path} is shorter than its listed size");
        }
    }

    /// <summary>The one fetch of a block: joins the running one or starts it.</summary>
    private BlockFetch GetOrStartFetch(IBackend backend, CachedObject cachedObject, long index, bool speculative, out bool started)
    {
        var key = new BlockKey(cachedObject, index);
        while (true)
        {
            if (_inFlight.TryGetValue(key, out var running))
            {
                started = false;
                return running;
            }

            var fetch = new BlockFetch(new BlockEntry(cachedObject.BlockLength(index), speculative), isPlaceholder: false);
            if (!_inFlight.TryAdd(key, fetch))
            {
                continue;
            }

            // A fetch that finished between our slot check and TryAdd already published the block.
            if (cachedObject.GetBlock(index) is { IsRetired: false })
            {
                _inFlight.TryRemove(KeyValuePair.Create(key, fetch));
                fetch.Completion.TrySetResult(true);
                started = false;
                return fetch;
            }

            started = true;
            _background.Track(RunFetchAsync(backend, key, fetch, speculative));
            return fetch;
        }
    }

    private async Task RunFetchAsync(IBackend backend, BlockKey key, BlockFetch fetch, bool speculative)
    {
        if (speculative)
        {
            // Registered in _inFlight already (demand reads join it); the I/O itself leaves the scheduling thread.
            await Task.Yield();
        }

        var cachedObject = key.Object;
        var length = fetch.Entry.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        cachedObject.Retain();
        try
        {
            var data = buffer.AsMemory(0, length);
            await _fetchSlots.WaitAsync(_lifetime.Token);
            int read;
            try
            {
                read = await backend.ReadVersionAtAsync(cachedObject.Path, cachedObject.ETag, cachedObject.BlockOffset(key.Index), data, _lifetime.Token);
                Interlocked.Increment(ref _counters.BackendFetches);
            }
            finally
            {
                _fetchSlots.Release();
            }

            if (read != length)
            {
                throw new BackendException(BackendErrorKind.Changed, backend.Name, $"{cachedObject.Path} is shorter than its listed size");
            }

            var stored = StoreBlock(cachedObject, key.Index, fetch.Entry, data.Span);
            if (stored && Interlocked.Read(ref _sizeBytes) > _options.MaxSize)
            {
                // Over the hard limit: evict before anyone is told the block is here, so the cache exceeds
                // MaxSize only by what is in flight.
                await EvictAsync(force: false);
            }

            _inFlight.TryRemove(KeyValuePair.Create(key, fetch));
            fetch.Completion.TrySetResult(stored);
        }
        catch (Exception ex)
        {
            _inFlight.TryRemove(KeyValuePair.Create(key, fetch));
            fetch.Completion.TrySetException(ex);
            if (ex is not OperationCanceledException)
            {
                _logger.LogDebug(ex, "Fetch of block {Index} of {Backend}:{Path} failed", key.Index, cachedObject.Backend, cachedObject.Path);
            }
        }
        finally
        {
            cachedObject.Release();
            ArrayPool<byte>.Shared.Return(buffer);
        }

        // Observed so an unawaited fault does not surface as an unobserved task exception.
        _ = fetch.Completion.Task.Exception;
    }

    /// <summary>
    /// Writes a fetched block at its offset, then records it, then publishes it: the metadata record is written only
    /// after the data reached the OS, so a crash can leave data without a record (a hole the next read fills) but
    /// never a record without its data. No fdatasync: see README.md (the checksums cover power loss).
    /// </summary>
    private bool StoreBlock(CachedObject cachedObject, long index, BlockEntry entry, ReadOnlySpan<byte> data)
    {
        try
        {
            var file = cachedObject.GetHandle(create: true, PutObjectRecord);
            if (file is null)
            {
                return false;
            }

            var sums = SubBlockSums.Compute(data);
            entry.SetSums(sums);
            RandomAccess.Write(file, data, cachedObject.BlockOffset(index));
            _metadata.PutBlock(cachedObject.Id, index, entry.Length, sums);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or RocksDbSharp.RocksDbException)
        {
            _logger.LogWarning(ex, "Could not store block {Index} of {Backend}:{Path}; serving it uncached", index, cachedObject.Backend, cachedObject.Path);
            return false;
        }

        Touch(cachedObject, entry);
        if (!cachedObject.TryInstall(index, entry))
        {
            return false;
        }

        // The bytes just written are what was hashed: a passthrough open need not re-read them (see TryOpenComplete).
        entry.MarkWholeVerified();
        var size = Interlocked.Add(ref _sizeBytes, entry.Length);
        if (size > HighWaterBytes)
        {
            SignalEviction();
        }

        return true;
    }

    /// <summary>Registers the speculative fetch synchronously, so a demand read arriving next joins it; returns its completion.</summary>
    private Task PrefetchAsync(PrefetchRequest request)
    {
        var cachedObject = request.Object;
        if (cachedObject.IsDeleted || cachedObject.GetBlock(request.Index) is not null || _lifetime.IsCancellationRequested)
        {
            return Task.CompletedTask;
        }

        var fetch = GetOrStartFetch(request.Backend, cachedObject, request.Index, speculative: true, out var started);
        if (started)
        {
            Interlocked.Increment(ref _counters.ReadaheadIssued);
        }

        return fetch.Completion.Task;
    }

    /// <summary>Directory-level readahead: the first blocks of the next two files in name order.</summary>
    private async Task PrefetchNextFilesAsync(IBackend backend, BackendEntry opened)
    {
        try
        {
            var directory = BackendPath.Parent(opened.Path);
            var listing = await _listings.GetOrAdd((backend.Name, directory), key => new Lazy<Task<BackendEntry[]>>(() => ListFilesAsync(backend, key.Directory))).Value;
            var position = Array.FindIndex(listing, entry => entry.Path == opened.Path);
            if (position < 0)
            {
                return;
            }

            for (var next = position + 1; next < listing.Length && next <= position + 2; next++)
            {
                var cachedObject = AcquireObject(backend.Name, listing[next]);
                try
                {
                    SchedulePrefetch(backend, cachedObject, 0, Math.Min(_options.ReadaheadBlocks, cachedObject.BlockCount), PrefetchPriority.Directory);
                }
                finally
                {
                    cachedObject.Release();
                }
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A failed listing is not cached: the next open in order tries again.
            _listings.TryRemove((backend.Name, BackendPath.Parent(opened.Path)), out _);
            _logger.LogDebug(ex, "Directory prefetch after {Backend}:{Path} failed", backend.Name, opened.Path);
        }
    }

    private async Task<BackendEntry[]> ListFilesAsync(IBackend backend, string directory)
    {
        if (_listings.Count > 256)
        {
            _listings.Clear();
        }

        var files = new List<BackendEntry>();
        await foreach (var entry in backend.ListAsync(directory, recursive: false, _lifetime.Token))
        {
            if (!entry.IsDirectory)
            {
                files.Add(entry);
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return [.. files];
    }
}
