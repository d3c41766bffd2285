using System.Diagnostics.CodeAnalysis;
using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using WarpDrive.Backends;

namespace WarpDrive.Cache;

/// <summary>
/// The node's NVMe block cache: files are cut into fixed blocks fetched on demand (one ranged backend read per
/// block, one fetch per block however many readers want it), stored in one sparse file per object version,
/// checksummed, prefetched for sequential readers and evicted LRU. See README.md for the design.
/// </summary>
public sealed partial class BlockCache : IContentSource, IPassthroughSource, IAsyncDisposable
{
    /// <summary>How in-place backends (<see cref="IInPlaceSource"/>) are read when the kernel cannot pass through: directly.</summary>
    private static readonly DirectContentSource InPlace = new();
    private readonly BlockCacheOptions _options;
    private readonly ILogger _logger;
    private readonly BlockFileLayout _layout;
    private readonly MetadataStore _metadata;
    private readonly CacheCounters _counters = new();
    private readonly Lock _objectsGate = new();
    private readonly Dictionary<(string Backend, string Path), CachedObject> _objects = [];
    private readonly ConcurrentDictionary<BlockKey, BlockFetch> _inFlight = new();
    private readonly SemaphoreSlim _fetchSlots;
    private readonly PrefetchScheduler _prefetch;
    private readonly DirectoryOpenTracker _directoryOpens = new();
    private readonly ConcurrentDictionary<(string Backend, string Directory), Lazy<Task<BackendEntry[]>>> _listings = new();
    private readonly BackgroundTasks _background = new();
    private readonly CancellationTokenSource _lifetime = new();
    private readonly Task _evictionLoop;
    private readonly Task _scrubLoop;
    private readonly Task _accessFlushLoop;
    private long _sizeBytes;
    private long _clock;
    private int _disposed;

    public BlockCache(BlockCacheOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _options = options;
        _logger = logger;
        _layout = new BlockFileLayout(options.Path);
        Directory.CreateDirectory(_layout.BlocksDirectory);
        _metadata = new MetadataStore(_layout.MetadataDirectory);
        _fetchSlots = new SemaphoreSlim(options.MaxParallelFetch, options.MaxParallelFetch);
        _prefetch = new PrefetchScheduler(options.MaxSpeculativeBytes, PrefetchAsync, logger);
        try
        {
            LoadAndReclaim();
        }
        catch
        {
            _metadata.Dispose();
            throw;
        }

        _evictionLoop = Task.Run(EvictionLoopAsync);
        _scrubLoop = Task.Run(ScrubLoopAsync);
        _accessFlushLoop = Task.Run(AccessFlushLoopAsync);
    }

    public BlockCacheOptions Options => _options;

    /// <summary>Opens a reader of <paramref name="version"/>. No I/O; a new ETag for the path invalidates the old one in the background.</summary>
    public IObjectReader Open(IBackend backend, BackendEntry version)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(version);
        if (version.IsDirectory)
        {
            throw new ArgumentException($"{version.Path} is a directory.", nameof(version));
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        if (backend is IInPlaceSource { ServesInPlace: true })
        {
            // Already a file on local disk: a second copy would cost a write and space for nothing (README: in place).
            return InPlace.Open(backend, version);
        }

        var cachedObject = AcquireObject(backend.Name, version);
        if (_directoryOpens.OnOpen(backend.Name, version.Path))
        {
            _background.Track(PrefetchNextFilesAsync(backend, version));
        }

        return new CachedObjectReader(this, backend, version, cachedObject, _options.ReadaheadBlocks);
    }

    /// <summary>Drops every cached block of <paramref name="path"/> (whatever its version) and the cached listing of its directory.</summary>
    public ValueTask InvalidateAsync(IBackend backend, string path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(path);
        CachedObject? stale;
        lock (_objectsGate)
        {
            if (_objects.Remove((backend.Name, path), out stale))
            {
                MarkDeleted(stale);
            }
        }

        _listings.TryRemove((backend.Name, BackendPath.Parent(path)), out _);
        if (stale is not null)
        {
            DeleteObjectData(stale);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// When every block of <paramref name="version"/> is cached and verifies, returns a read-only handle to its data
    /// file and a pin: until the pin is disposed, no block of it is evicted or hole-punched. For FUSE passthrough.
    /// </summary>
    public bool TryOpenComplete(IBackend backend, BackendEntry version, [NotNullWhen(true)] out SafeFileHandle? file, [NotNullWhen(true)] out IDisposable? pin)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(version);
        file = null;
        pin = null;
        if (backend is IInPlaceSource { ServesInPlace: true } source)
        {
            // The kernel reads the source file itself. Nothing of ours backs it, so there is nothing to pin.
            file = source.TryOpenVersion(version.Path, version.ETag);
            pin = file is null ? null : NoPin.Instance;
            return file is not null;
        }

        CachedObject? cachedObject;
        lock (_objectsGate)
        {
            if (!_objects.TryGetValue((backend.Name, version.Path), out cachedObject) || !IsSameVersion(cachedObject, version))
            {
                return false;
            }

            cachedObject.Retain();
            // Pinned before the blocks are checked: eviction re-checks the pin after retiring a block (see EvictBlock),
            // so either it sees this pin or this check sees its retired block.
            cachedObject.Pin();
        }

        var complete = false;
        try
        {
            if (cachedObject.GetHandle(create: true, PutObjectRecord) is null)
            {
                return false;
            }

            for (var index = 0L; index < cachedObject.BlockCount; index++)
            {
                var entry = cachedObject.GetBlock(index);
                if (entry is null || entry.IsRetired)
                {
                    return false;
                }

                // The kernel will read this file without us, so every block must be intact now: written or checked
                // whole by this process already, or checked whole here. Afterwards only the scrub re-checks it.
                if (entry.IsWholeVerified)
                {
                    continue;
                }

                var outcome = VerifyWhole(cachedObject, index, entry);
                if (outcome == ServeOutcome.Corrupt)
                {
                    OnCorruptBlock(cachedObject, index, entry);
                }

                if (outcome != ServeOutcome.Served)
                {
                    return false;
                }
            }

            file = File.OpenHandle(cachedObject.FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            pin = new ObjectPin(cachedObject);
            complete = true;
            return true;
        }
        finally
        {
            if (!complete)
            {
                cachedObject.Unpin();
                cachedObject.Release();
            }
        }
    }

    /// <summary>Sets or clears the persistent pin of a cached version (survives restarts; pinned blocks are never evicted).</summary>
    public bool SetPinned(IBackend backend, BackendEntry version, bool pinned)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(version);
        CachedObject? cachedObject;
        lock (_objectsGate)
        {
            if (!_objects.TryGetValue((backend.Name, version.Path), out cachedObject) || !IsSameVersion(cachedObject, version))
            {
                return false;
            }

            cachedObject.PersistentPin = pinned;
        }

        if (cachedObject.FileExists)
        {
            _metadata.PutObject(cachedObject.ToRecord());
        }

        return true;
    }

    public CacheStats Snapshot()
    {
        long pinnedBytes = 0;
        int objects;
        lock (_objectsGate)
        {
            objects = _objects.Count;
            foreach (var cachedObject in _objects.Values)
            {
                if (cachedObject.IsPinned)
                {
                    pinnedBytes += cachedObject.PresentBytes;
                }
            }
        }

        return new CacheStats(
            Interlocked.Read(ref _counters.Hits),
            Interlocked.Read(ref _counters.Misses),
            Interlocked.Read(ref _counters.Evictions),
            Interlocked.Read(ref _sizeBytes),
            _options.MaxSize,
            pinnedBytes,
            objects,
            Interlocked.Read(ref _counters.ReadaheadIssued),
            Interlocked.Read(ref _counters.ReadaheadHits),
            Interlocked.Read(ref _counters.ReadaheadWasted),
            Interlocked.Read(ref _counters.ChecksumFailures),
            Interlocked.Read(ref _counters.BackendFetches),
            Interlocked.Read(ref _counters.OrphansReclaimed));
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _prefetch.Stop();
        await _lifetime.CancelAsync();
        await _background.DrainAsync();
        await Task.WhenAll(_evictionLoop, _accessFlushLoop, _scrubLoop);
        FlushAccessTimes();
        lock (_objectsGate)
        {
            foreach (var cachedObject in _objects.Values)
            {
                cachedObject.CloseHandle();
            }
        }

        _metadata.Dispose();
        _fetchSlots.Dispose();
        _lifetime.Dispose();
    }

    /// <summary>For tests: waits until no fetch, prefetch or background task is running.</summary>
    internal async Task WaitForIdleAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!(_inFlight.IsEmpty && _prefetch.IsIdle && _background.Count == 0))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The cache did not become idle.");
            }

            await Task.Delay(5);
        }
    }

    private static bool IsSameVersion(CachedObject cachedObject, BackendEntry version) =>
        cachedObject.ETag == version.ETag && cachedObject.Size == version.Size;

    /// <summary>The live incarnation of a version, created (in memory only) when new; returned with a reference held.</summary>
    private CachedObject AcquireObject(string backend, BackendEntry version)
    {
        CachedObject? stale = null;
        CachedObject cachedObject;
        lock (_objectsGate)
        {
            var key = (backend, version.Path);
            if (_objects.TryGetValue(key, out var current) && IsSameVersion(current, version))
            {
                current.Retain();
                return current;
            }

            if (current is not null)
            {
                stale = current;
                MarkDeleted(stale);
            }

            var id = Guid.NewGuid();
            cachedObject = new CachedObject(id, backend, version.Path, version.ETag, version.Size, _options.BlockSize, _layout.DataFilePath(id), fileExists: false);
            _objects[key] = cachedObject;
            cachedObject.Retain();
        }

        if (stale is not null)
        {
            _logger.LogInformation("{Backend}:{Path} changed (ETag {Old} -> {New}); dropping the old version's blocks", backend, version.Path, stale.ETag, version.ETag);
            _background.Track(Task.Run(() => DeleteObjectData(stale)));
        }

        return cachedObject;
    }

    /// <summary>Takes a deleted object's bytes out of the accounting. Caller removed it from <see cref="_objects"/>.</summary>
    private void MarkDeleted(CachedObject cachedObject)
    {
        var bytes = cachedObject.MarkDeleted();
        Interlocked.Add(ref _sizeBytes, -bytes);
    }

    /// <summary>
    /// Removes a deleted incarnation's records and file. Open readers keep reading their handle of the unlinked
    /// file: they serve the version they opened. Records a concurrent fetch adds after this are orphans for startup.
    /// </summary>
    private void DeleteObjectData(CachedObject cachedObject)
    {
        try
        {
            _metadata.DeleteObject(cachedObject.Id);
            File.Delete(cachedObject.FilePath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or RocksDbSharp.RocksDbException)
        {
            _logger.LogWarning(ex, "Could not delete cached data of {Backend}:{Path}; it will be reclaimed on restart", cachedObject.Backend, cachedObject.Path);
        }
    }

    private void PutObjectRecord(CachedObject cachedObject) => _metadata.PutObject(cachedObject.ToRecord());

    private long NextTick() => Interlocked.Increment(ref _clock);

    private void Touch(CachedObject cachedObject, BlockEntry entry)
    {
        entry.LastAccess = NextTick();
        cachedObject.Touch(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    }

    private sealed class ObjectPin(CachedObject cachedObject) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                cachedObject.Unpin();
                cachedObject.Release();
            }
        }
    }

    /// <summary>The pin of a passthrough to a source file: nothing of the cache backs it, so nothing to hold.</summary>
    private sealed class NoPin : IDisposable
    {
        public static readonly NoPin Instance = new();

        public void Dispose()
        {
        }
    }
}
