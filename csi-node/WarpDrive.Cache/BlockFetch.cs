namespace WarpDrive.Cache;

/// <summary>Identifies a block of one cached incarnation (reference equality on the object).</summary>
internal readonly record struct BlockKey(CachedObject Object, long Index);

/// <summary>
/// The single in-flight operation on a block (singleflight). A real fetch completes with true when the block was
/// stored and published, false when it could not be (object deleted, disk error): waiters then read the backend
/// directly. A placeholder holds the slot while a block is being removed, so no fetch writes into a range that
/// is about to be hole-punched; it completes with false and waiters simply look again.
/// </summary>
internal sealed class BlockFetch(BlockEntry entry, bool isPlaceholder)
{
    public BlockEntry Entry { get; } = entry;

    public bool IsPlaceholder { get; } = isPlaceholder;

    public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
