using WarpDrive.Backends;

namespace WarpDrive.Cache;

/// <summary>
/// One open file served through the <see cref="BlockCache"/>. Thread-safe: concurrent reads share the cache's
/// singleflight; the readahead detector is the only per-reader mutable state and is guarded by its own lock
/// (held for a few comparisons, never across I/O). Holds a reference on its object so the data file stays open
/// (and readable even after the version is invalidated) until disposed.
/// </summary>
internal sealed class CachedObjectReader : IObjectReader
{
    private readonly BlockCache _cache;
    private readonly IBackend _backend;
    private readonly CachedObject _object;
    private readonly ReadaheadDetector _readahead;
    private int _disposed;

    public CachedObjectReader(BlockCache cache, IBackend backend, BackendEntry version, CachedObject cachedObject, int readaheadBlocks)
    {
        _cache = cache;
        _backend = backend;
        Version = version;
        _object = cachedObject;
        _readahead = new ReadaheadDetector(readaheadBlocks);
    }

    public BackendEntry Version { get; }

    public async ValueTask<int> ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken) =>
        (await ReadWithOutcomeAsync(offset, destination, cancellationToken)).Bytes;

    public async ValueTask<ReadOutcome> ReadWithOutcomeAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) == 1, this);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var size = _object.Size;
        if (offset >= size || destination.Length == 0)
        {
            return new ReadOutcome(0, FromCache: true);
        }

        var length = (int)Math.Min(destination.Length, size - offset);
        var blockSize = _object.BlockSize;
        var first = offset / blockSize;
        var last = (offset + length - 1) / blockSize;

        (long From, long Count) prefetch;
        lock (_readahead)
        {
            prefetch = _readahead.OnRead(first, last, _object.BlockCount);
        }

        if (prefetch.Count > 0)
        {
            _cache.SchedulePrefetch(_backend, _object, prefetch.From, prefetch.Count, PrefetchPriority.InFile);
        }

        // A read spanning several blocks starts all their fetches before waiting on the first.
        var fromCache = true;
        for (var block = first + 1; block <= last; block++)
        {
            fromCache &= !_cache.StartFetchIfMissing(_backend, _object, block);
        }

        var done = 0;
        for (var block = first; block <= last; block++)
        {
            var blockStart = block * blockSize;
            var from = Math.Max(offset, blockStart);
            var to = Math.Min(offset + length, blockStart + _object.BlockLength(block));
            var count = (int)(to - from);
            fromCache &= await _cache.ReadBlockAsync(_backend, _object, block, (int)(from - blockStart), destination.Slice(done, count), cancellationToken);
            done += count;
        }

        return new ReadOutcome(length, fromCache);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _object.Release();
        }
    }
}
