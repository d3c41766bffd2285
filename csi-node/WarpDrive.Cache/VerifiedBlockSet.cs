using System.Collections.Concurrent;

namespace WarpDrive.Cache;

/// <summary>
/// The most recently verified blocks. A block in the set is read straight into the caller's buffer without
/// re-hashing, so a 128 KiB read of a 4 MiB block costs 128 KiB of I/O, not 4 MiB. The set is bounded: the
/// oldest entries fall out and are verified again on their next read, which bounds how long silent disk
/// corruption behind a verified block could go unnoticed.
/// </summary>
internal sealed class VerifiedBlockSet(int capacity)
{
    private readonly ConcurrentQueue<BlockEntry> _order = new();
    private int _count;

    public void Add(BlockEntry entry)
    {
        if (!entry.MarkVerified())
        {
            return;
        }

        _order.Enqueue(entry);
        if (Interlocked.Increment(ref _count) > capacity && _order.TryDequeue(out var oldest))
        {
            Interlocked.Decrement(ref _count);
            oldest.ClearVerified();
        }
    }
}
