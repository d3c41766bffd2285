using Microsoft.Extensions.Logging;

namespace WarpDrive.Cache;

/// <summary>LRU eviction between water marks, access-time persistence and block removal.</summary>
public sealed partial class BlockCache
{
    private readonly SemaphoreSlim _evictionSignal = new(0);
    private readonly SemaphoreSlim _evictionGate = new(1, 1);

    private long HighWaterBytes => (long)(_options.MaxSize * _options.EvictHighWater);

    private long LowWaterBytes => (long)(_options.MaxSize * _options.EvictLowWater);

    private void SignalEviction()
    {
        if (_evictionSignal.CurrentCount == 0)
        {
            _evictionSignal.Release();
        }
    }

    private async Task EvictionLoopAsync()
    {
        var token = _lifetime.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await _evictionSignal.WaitAsync(_options.EvictionInterval, token);
                await EvictAsync(force: false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Eviction pass failed");
            }
        }
    }

    private async Task AccessFlushLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.AccessFlushInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_lifetime.Token))
            {
                FlushAccessTimes();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Writes the access times that changed since the last flush (they order eviction after a restart).</summary>
    private void FlushAccessTimes()
    {
        foreach (var cachedObject in SnapshotObjects())
        {
            if (cachedObject.TakeAccessDirty() && cachedObject.FileExists && !cachedObject.IsDeleted)
            {
                try
                {
                    _metadata.PutObject(cachedObject.ToRecord());
                }
                catch (RocksDbSharp.RocksDbException ex)
                {
                    _logger.LogWarning(ex, "Could not persist access time of {Backend}:{Path}", cachedObject.Backend, cachedObject.Path);
                }
            }
        }
    }

    private CachedObject[] SnapshotObjects()
    {
        lock (_objectsGate)
        {
            return [.. _objects.Values];
        }
    }

    /// <summary>
    /// One eviction pass: above the high-water mark, removes least-recently-used blocks of unpinned objects until
    /// below the low-water mark, then drops incarnations left empty and unused. One pass at a time (<see cref="_evictionGate"/>).
    /// </summary>
    internal async Task EvictAsync(bool force)
    {
        await _evictionGate.WaitAsync();
        try
        {
            if (force || Interlocked.Read(ref _sizeBytes) > HighWaterBytes)
            {
                EvictLeastRecentlyUsed();
            }

            SweepEmptyObjects();
        }
        finally
        {
            _evictionGate.Release();
        }
    }

    private void EvictLeastRecentlyUsed()
    {
        var candidates = new List<(long Tick, CachedObject Object, long Index, BlockEntry Entry)>();
        foreach (var cachedObject in SnapshotObjects())
        {
            if (cachedObject.IsPinned)
            {
                continue;
            }

            for (var index = 0L; index < cachedObject.BlockCount; index++)
            {
                if (cachedObject.GetBlock(index) is { } entry)
                {
                    candidates.Add((entry.LastAccess, cachedObject, index, entry));
                }
            }
        }

        candidates.Sort((a, b) => a.Tick.CompareTo(b.Tick));
        var low = LowWaterBytes;
        foreach (var (_, cachedObject, index, entry) in candidates)
        {
            if (Interlocked.Read(ref _sizeBytes) <= low)
            {
                break;
            }

            if (RemoveBlock(cachedObject, index, entry, respectPins: true))
            {
                Interlocked.Increment(ref _counters.Evictions);
                if (entry.ConsumePrefetch())
                {
                    Interlocked.Increment(ref _counters.ReadaheadWasted);
                }
            }
        }
    }

    private void SweepEmptyObjects()
    {
        var removed = new List<CachedObject>();
        lock (_objectsGate)
        {
            foreach (var (key, cachedObject) in _objects)
            {
                if (cachedObject.TryMarkDeletedIfUnused())
                {
                    removed.Add(cachedObject);
                }
            }

            foreach (var cachedObject in removed)
            {
                _objects.Remove((cachedObject.Backend, cachedObject.Path));
            }
        }

        foreach (var cachedObject in removed)
        {
            if (cachedObject.FileExists)
            {
                DeleteObjectData(cachedObject);
            }
        }
    }

    /// <summary>
    /// Removes one block: holds the block's singleflight slot (so no fetch rewrites the range meanwhile), retires
    /// it (fails while someone reads it), deletes its metadata record, then punches the hole, then unpublishes it.
    /// A crash at any point leaves either a hole without a record or data without a record: never a record
    /// without data.
    /// </summary>
    private bool RemoveBlock(CachedObject cachedObject, long index, BlockEntry entry, bool respectPins)
    {
        var key = new BlockKey(cachedObject, index);
        var placeholder = new BlockFetch(entry, isPlaceholder: true);
        if (!_inFlight.TryAdd(key, placeholder))
        {
            return false;
        }

        cachedObject.Retain();
        try
        {
            if (!entry.TryRetire())
            {
                return false;
            }

            // Checked after retiring: TryOpenComplete pins before it checks blocks, so one of the two sees the other.
            if (respectPins && cachedObject.IsPinned)
            {
                entry.Unretire();
                return false;
            }

            _metadata.DeleteBlock(cachedObject.Id, index);
            var file = cachedObject.GetHandle(create: false);
            if (file is not null && !NativeMethods.TryPunchHole(file, cachedObject.BlockOffset(index), entry.Length, out var errno))
            {
                _logger.LogWarning("fallocate(PUNCH_HOLE) failed with errno {Errno} for {Backend}:{Path}; the space is reused when the block is fetched again", errno, cachedObject.Backend, cachedObject.Path);
            }

            if (cachedObject.TryUninstall(index, entry))
            {
                Interlocked.Add(ref _sizeBytes, -entry.Length);
            }

            return true;
        }
        finally
        {
            cachedObject.Release();
            _inFlight.TryRemove(KeyValuePair.Create(key, placeholder));
            placeholder.Completion.TrySetResult(false);
        }
    }
}
