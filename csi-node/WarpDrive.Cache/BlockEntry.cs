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
    private int _wholeVerified;
    private int _corrupt;
    private long _lastAccess;
    private uint[]? _sums;

    public int Length { get; } = length;

    /// <summary>
    /// One sum per 64 KiB (<see cref="SubBlockSums"/>); null only for a block loaded from a record written before
    /// sub-block sums existed, until its first read verifies it whole and sets them.
    /// </summary>
    public uint[]? Sums => Volatile.Read(ref _sums);

    /// <summary>XxHash3-64 of the whole block, from a record without sub-block sums (0 otherwise).</summary>
    public ulong LegacyChecksum { get; init; }

    public long LastAccess
    {
        get => Volatile.Read(ref _lastAccess);
        set => Volatile.Write(ref _lastAccess, value);
    }

    public bool IsRetired => Volatile.Read(ref _state) < 0;

    /// <summary>
    /// Every byte on disk was checked (or written) by this process. Only passthrough opens use it: the kernel then
    /// reads the file without us anyway; reads through the agent always verify the sub-blocks they touch.
    /// </summary>
    public bool IsWholeVerified => Volatile.Read(ref _wholeVerified) == 1;

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

    /// <summary>Sets the sums once (before publishing, or when a legacy block is upgraded); the first caller wins.</summary>
    public void SetSums(uint[] sums) => Interlocked.CompareExchange(ref _sums, sums, null);

    public void MarkWholeVerified() => Volatile.Write(ref _wholeVerified, 1);

    /// <summary>True once: the first reader that finds the block corrupt counts and logs it, later ones only help drop it.</summary>
    public bool MarkCorrupt() => Interlocked.Exchange(ref _corrupt, 1) == 0;
}
