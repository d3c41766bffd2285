namespace WarpDrive.Backends;

/// <summary>
/// One storage backend (a local directory, a bucket, a container, an rclone remote) seen as a tree of
/// immutable-until-replaced objects. Paths are relative, '/'-separated, never start with '/', and ""
/// is the backend's root. Implementations are thread-safe: the FUSE workers call them concurrently.
/// </summary>
/// <remarks>
/// Errors are reported as <see cref="BackendException"/> with a <see cref="BackendErrorKind"/>, so the
/// filesystem can map them to errno without knowing any SDK. "Not found" from <see cref="StatAsync"/>
/// is a <c>null</c> result, not an exception, because negative lookups are common and must be cheap.
/// </remarks>
public interface IBackend : IAsyncDisposable
{
    /// <summary>The configured name (unique per agent), used in logs, metrics and cache keys.</summary>
    string Name { get; }

    /// <summary>The backend type: local, s3, azureblob, gcs, rclone.</summary>
    string Type { get; }

    /// <summary>
    /// Lists a directory. With <paramref name="recursive"/> false, yields the immediate children of
    /// <paramref name="prefix"/> (sub-directories as entries with <see cref="BackendEntry.IsDirectory"/>);
    /// with true, yields every object below it (files only). Listing a missing directory yields nothing.
    /// </summary>
    IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, CancellationToken cancellationToken);

    /// <summary>Size, modification time and ETag of a file or directory; null when it does not exist.</summary>
    ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken);

    /// <summary>
    /// Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/>. Fills the buffer completely unless
    /// the end of the object comes first; returns the number of bytes read (0 at or past the end).
    /// </summary>
    ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>
    /// Like <see cref="ReadAtAsync"/>, but only from the version whose ETag is <paramref name="expectedETag"/>: if the
    /// object was replaced, throws <see cref="BackendException"/> with <see cref="BackendErrorKind.Changed"/> instead
    /// of returning bytes of another version, so a cache never stitches two versions into one file. Stores that answer
    /// conditional reads (If-Match) check it in the same request; others use <see cref="VersionCheck"/>. Not a default
    /// interface method on purpose: a decorator that forgot to forward it would silently lose the check.
    /// An empty <paramref name="expectedETag"/> checks nothing.
    /// </summary>
    ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>Opens the whole object as a forward-only stream (used for copies and bulk work).</summary>
    ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken);

    /// <summary>Creates or replaces an object with the content of <paramref name="content"/>.</summary>
    ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken);

    /// <summary>Deletes an object. Deleting a missing object is not an error.</summary>
    ValueTask DeleteAsync(string path, CancellationToken cancellationToken);
}

/// <summary>
/// What a backend knows about one path. <see cref="Path"/> is relative to the backend root.
/// The ETag identifies one version of the content: when it changes, cached data for the path is stale.
/// </summary>
public sealed record BackendEntry(string Path, bool IsDirectory, long Size, DateTimeOffset LastModified, string ETag)
{
    /// <summary>The last path segment.</summary>
    public string Name => Path.Length == 0 ? "" : Path[(Path.LastIndexOf('/') + 1)..];
}

/// <summary>For stores without conditional reads: read, then re-stat and compare the ETag (one more request).</summary>
public static class VersionCheck
{
    public static async ValueTask<int> ReadThenCompareAsync(IBackend backend, string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var read = await backend.ReadAtAsync(path, offset, buffer, cancellationToken).ConfigureAwait(false);
        if (expectedETag.Length > 0 && await backend.StatAsync(path, cancellationToken).ConfigureAwait(false) is { } now && now.ETag != expectedETag)
        {
            throw new BackendException(BackendErrorKind.Changed, backend.Name, $"'{path}' changed while it was read");
        }

        return read;
    }
}
