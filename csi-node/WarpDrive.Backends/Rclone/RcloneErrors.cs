using System.Text.Json;
using WarpDrive.Backends.Resilience;

namespace WarpDrive.Backends.Rclone;

/// <summary>
/// A failed rc call or rc-serve request: the HTTP status rcd answered and rclone's error text, already redacted
/// (the raw body also echoes the call's input, which is never kept).
/// </summary>
internal sealed class RcloneCallException(int status, string error) : Exception($"HTTP {status}: {error}")
{
    public int Status { get; } = status;

    public string Error { get; } = error;
}

/// <summary>rcd could not be started or configured; carries its own classification.</summary>
internal sealed class RcloneDaemonException(FailureClass failure, Exception? inner = null) : Exception(failure.Description, inner)
{
    public FailureClass Failure { get; } = failure;
}

/// <summary>Turns rclone failures into <see cref="FailureClass"/>es.</summary>
internal static class RcloneErrors
{
    // rcd answers 404 for rclone's ErrorObjectNotFound/ErrorDirNotFound and 500 for everything else, so the
    // cause of a 500 is only in the text. The remote's own HTTP status, when there is one, appears in it as
    // "401 Unauthorized", "403 Forbidden", "AccessDenied: ... status code: 403", and so on.
    private static readonly (string Marker, BackendErrorKind Kind, bool Transient)[] TextMarkers =
    [
        ("object not found", BackendErrorKind.NotFound, false),
        ("directory not found", BackendErrorKind.NotFound, false),
        ("no such file or directory", BackendErrorKind.NotFound, false),
        ("401", BackendErrorKind.AccessDenied, false),
        ("403", BackendErrorKind.AccessDenied, false),
        ("unauthorized", BackendErrorKind.AccessDenied, false),
        ("forbidden", BackendErrorKind.AccessDenied, false),
        ("access denied", BackendErrorKind.AccessDenied, false),
        ("accessdenied", BackendErrorKind.AccessDenied, false),
        ("permission denied", BackendErrorKind.AccessDenied, false),
        ("invalidaccesskeyid", BackendErrorKind.AccessDenied, false),
        ("signaturedoesnotmatch", BackendErrorKind.AccessDenied, false),
        ("authorizationfailure", BackendErrorKind.AccessDenied, false),
        ("unable to authenticate", BackendErrorKind.AccessDenied, false),
        ("429", BackendErrorKind.Throttled, true),
        ("too many requests", BackendErrorKind.Throttled, true),
        ("slowdown", BackendErrorKind.Throttled, true),
        ("rate limit", BackendErrorKind.Throttled, true),
        ("503", BackendErrorKind.Throttled, true),
        ("i/o timeout", BackendErrorKind.Timeout, true),
        ("deadline exceeded", BackendErrorKind.Timeout, true),
        ("504", BackendErrorKind.Timeout, true),
        ("connection refused", BackendErrorKind.Unavailable, true),
        ("connection reset", BackendErrorKind.Unavailable, true),
        ("broken pipe", BackendErrorKind.Unavailable, true),
        ("no such host", BackendErrorKind.Unavailable, true),
        ("network is unreachable", BackendErrorKind.Unavailable, true),
        ("no route to host", BackendErrorKind.Unavailable, true),
        ("unexpected eof", BackendErrorKind.Unavailable, true),
        ("502", BackendErrorKind.Unavailable, true),
        ("500 internal server error", BackendErrorKind.Unavailable, true),
    ];

    public static FailureClass? Classify(Exception e) => e switch
    {
        RcloneDaemonException d => d.Failure,
        RcloneCallException c => FromCall(c.Status, c.Error),
        JsonException => new FailureClass(BackendErrorKind.Other, false, "malformed JSON from rclone rcd"),
        _ => FailureClass.FromTransport(e),
    };

    public static FailureClass FromCall(int status, string error)
    {
        var description = error.Length == 0 ? $"HTTP {status}" : $"HTTP {status} ({error})";
        if (status == 404)
        {
            return new FailureClass(BackendErrorKind.NotFound, false, description);
        }
        if (status is 401 or 403)
        {
            // rcd itself refused our rc credentials: a bug or a foreign process on the port, never retried.
            return new FailureClass(BackendErrorKind.AccessDenied, false, description);
        }
        foreach (var (marker, kind, transient) in TextMarkers)
        {
            if (char.IsAsciiDigit(marker[0]) ? ContainsStatusCode(error, marker) : error.Contains(marker, StringComparison.OrdinalIgnoreCase))
            {
                return new FailureClass(kind, transient, description);
            }
        }
        // A 500 whose text names no known cause: rclone already gave up on it, so it is not retried.
        return new FailureClass(status >= 500 ? BackendErrorKind.Other : FailureClass.FromHttpStatus(status, null).Kind, false, description);
    }

    /// <summary>"401" as a status code, not as part of a port, size or address.</summary>
    private static bool ContainsStatusCode(string text, string code)
    {
        for (var i = text.IndexOf(code, StringComparison.Ordinal); i >= 0; i = text.IndexOf(code, i + 1, StringComparison.Ordinal))
        {
            var before = i == 0 ? ' ' : text[i - 1];
            var after = i + code.Length >= text.Length ? ' ' : text[i + code.Length];
            if (!char.IsAsciiDigit(before) && before is not '.' and not ':' && !char.IsAsciiDigit(after))
            {
                return true;
            }
        }
        return false;
    }
}
