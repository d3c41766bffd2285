using WarpDrive.Backends;

namespace WarpDrive.Cache;

/// <summary>
/// Where the bytes of an open file come from. The filesystem opens one <see cref="IObjectReader"/> per
/// FUSE open and reads through it; the implementation decides whether that means straight from the
/// backend (<see cref="DirectContentSource"/>) or through the node's block cache.
/// </summary>
public interface IContentSource
{
    /// <summary>
    /// Opens the content of <paramref name="version"/> (its size and ETag as last seen) from
    /// <paramref name="backend"/>. Opening never does I/O; reads do.
    /// </summary>
    IObjectReader Open(IBackend backend, BackendEntry version);
}

/// <summary>
/// One open file's reader. Thread-safe: the kernel may issue several reads of one handle at once
/// (FUSE_ASYNC_READ). Per-open state such as readahead detection lives here.
/// </summary>
public interface IObjectReader : IDisposable
{
    /// <summary>The version this reader serves.</summary>
    BackendEntry Version { get; }

    /// <summary>Reads into <paramref name="destination"/> at <paramref name="offset"/>; short only at end of file.</summary>
    ValueTask<int> ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken);

    /// <summary>
    /// Reads like <see cref="ReadAsync"/> and also says whether the node cache served the whole read (access
    /// telemetry's cache_hit). A reader without a cache never does.
    /// </summary>
    ValueTask<ReadOutcome> ReadWithOutcomeAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var read = ReadAsync(offset, destination, cancellationToken);
        return read.IsCompletedSuccessfully ? new(new ReadOutcome(read.Result, FromCache: false)) : Await(read);

        static async ValueTask<ReadOutcome> Await(ValueTask<int> pending) => new(await pending, FromCache: false);
    }
}

/// <summary>
/// What one read did: the bytes read, and whether every block of it was already in the node cache (no wait on a
/// backend fetch by this read).
/// </summary>
public readonly record struct ReadOutcome(int Bytes, bool FromCache);

/// <summary>
/// A content source that can hand a fully cached object to the kernel as a plain file (FUSE passthrough):
/// the kernel then reads it itself, at local-disk speed, without a request per read.
/// </summary>
public interface IPassthroughSource
{
    /// <summary>
    /// When every block of <paramref name="version"/> is present and verifies, returns a read-only handle to
    /// its data file and a pin that keeps the blocks from being evicted (or hole-punched) until disposed.
    /// </summary>
    bool TryOpenComplete(
        IBackend backend,
        BackendEntry version,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Microsoft.Win32.SafeHandles.SafeFileHandle? file,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IDisposable? pin);
}
