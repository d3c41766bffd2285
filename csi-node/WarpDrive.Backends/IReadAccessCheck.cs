namespace WarpDrive.Backends;

/// <summary>
/// Whether the identity behind a backend may read one object now. A tree whose backend reads with a pod's own
/// identity shares the node's block cache with other identities; before it serves cached bytes of an object, that
/// identity must have been allowed to read the object, recently. The filesystem asks this at every open.
/// </summary>
public interface IReadAccessCheck
{
    /// <summary>
    /// Completes when <paramref name="version"/>'s object may be read; throws <see cref="BackendException"/> with
    /// <see cref="BackendErrorKind.AccessDenied"/> when the identity is refused (or another kind when it cannot be told).
    /// </summary>
    ValueTask EnsureReadableAsync(BackendEntry version, CancellationToken cancellationToken);
}
