namespace WarpDrive.Cache;

/// <summary>
/// One present block of a <see cref="CachedObject"/>. A new instance is made for every fetch, so flags never leak
/// from an evicted block to its replacement. <see cref="_state"/> is the reader count while the block is live
/// and -1 once it is retired: readers enter with a CAS from n to n+1, eviction retires with a CAS from 0 to -1,
/// so no hole is ever punched under a reader and no reader starts on a retired block.
/// </summary>
internal sealed class BlockEntry(int length, bool speculative)
{
    private int _state;
    private int _prefetched = speculative ? 1 : 0;
    private int _verified;
    private long _lastAccess;

    public int Length { get; } = length;

    /// <summary>XxHash3 of the block's bytes; set before the entry is published.</summary>
    public ulong Checksum { get; set; }

    public long LastAccess
    {
        get => Volatile.Read(ref _lastAccess);
        set => Volatile.Write(ref _lastAccess, value);
    }

    public bool IsRetired => Volatile.Read(ref _state) < 0;

    /// <summary>Bytes on disk were checked against <see cref="Checksum"/> recently (see <see cref="VerifiedBlockSet"/>).</summary>
    public bool IsVerified => Volatile.Read(ref _verified) == 1;

    public bool TryEnterRead()
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state < 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _state, state + 1, state) == state)
            {
                return true;
            }
        }
    }

    public void ExitRead() => Interlocked.Decrement(ref _state);

    /// <summary>Retires the block if nobody is reading it.</summary>
    public bool TryRetire() => Interlocked.CompareExchange(ref _state, -1, 0) == 0;

    /// <summary>Undoes <see cref="TryRetire"/> when eviction finds the object pinned after all.</summary>
    public void Unretire() => Interlocked.CompareExchange(ref _state, 0, -1);

    /// <summary>True once for a block brought in by readahead: the first demand read of it (or its eviction) claims it.</summary>
    public bool ConsumePrefetch() => Interlocked.Exchange(ref _prefetched, 0) == 1;

    public bool MarkVerified() => Interlocked.Exchange(ref _verified, 1) == 0;

    public void ClearVerified() => Volatile.Write(ref _verified, 0);
}
