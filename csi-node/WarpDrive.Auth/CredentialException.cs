using WarpDrive.Backends;

namespace WarpDrive.Auth;

/// <summary>
/// Credentials could not be obtained. The message names the backend and provider and says why in safe terms (an
/// HTTP status and error code, "network error", a file path); it never carries a token, key or assertion.
/// </summary>
public sealed class CredentialException : Exception
{
    public CredentialException(BackendErrorKind kind, string backend, string provider, string reason, Exception? innerException = null)
        : base($"{backend}: credentials from {provider} failed: {reason}", innerException)
    {
        Kind = kind;
        Backend = backend;
        Provider = provider;
        Reason = reason;
    }

    /// <summary><see cref="BackendErrorKind.AccessDenied"/>, <see cref="BackendErrorKind.Unavailable"/>, <see cref="BackendErrorKind.Throttled"/> or <see cref="BackendErrorKind.Timeout"/>.</summary>
    public BackendErrorKind Kind { get; }

    public string Backend { get; }

    public string Provider { get; }

    /// <summary>The safe description alone (also what the audit log records).</summary>
    public string Reason { get; }
}
