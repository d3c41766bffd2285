namespace WarpDrive.Backends;

/// <summary>What went wrong, in terms the filesystem can turn into an errno.</summary>
public enum BackendErrorKind
{
    /// <summary>Anything not classified below; becomes EIO.</summary>
    Other,
    /// <summary>The object or container does not exist; becomes ENOENT.</summary>
    NotFound,
    /// <summary>Credentials were refused or lack permission; becomes EACCES.</summary>
    AccessDenied,
    /// <summary>The service asked us to slow down and retries ran out; becomes EAGAIN.</summary>
    Throttled,
    /// <summary>The service could not be reached or kept failing; becomes EIO.</summary>
    Unavailable,
    /// <summary>No answer within the configured timeout; becomes EIO.</summary>
    Timeout,
    /// <summary>The object changed while it was being read (ETag mismatch); the reader retries with the new version.</summary>
    Changed,
}

/// <summary>A backend failure. The message names the backend and path and never carries credentials.</summary>
public sealed class BackendException : Exception
{
    public BackendException(BackendErrorKind kind, string backend, string message, Exception? innerException = null)
        : base($"{backend}: {message}", innerException)
    {
        Kind = kind;
        Backend = backend;
    }

    public BackendErrorKind Kind { get; }

    public string Backend { get; }
}
