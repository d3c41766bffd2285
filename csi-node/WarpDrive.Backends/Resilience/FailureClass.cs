namespace WarpDrive.Backends.Resilience;

/// <summary>
/// How a backend classifies one failed attempt: the kind it becomes if it is final, whether retrying may help,
/// and a short description safe to put in a message (a status and an error code, never a URL or credential).
/// </summary>
public readonly record struct FailureClass(BackendErrorKind Kind, bool Transient, string Description)
{
    public static FailureClass FromHttpStatus(int status, string? code)
    {
        var description = code is null ? $"HTTP {status}" : $"HTTP {status} ({code})";
        return status switch
        {
            404 => new(BackendErrorKind.NotFound, false, description),
            401 or 403 => new(BackendErrorKind.AccessDenied, false, description),
            429 or 503 => new(BackendErrorKind.Throttled, true, description),
            408 or 504 => new(BackendErrorKind.Timeout, true, description),
            >= 500 => new(BackendErrorKind.Unavailable, true, description),
            _ => new(BackendErrorKind.Other, false, description),
        };
    }

    /// <summary>Transport failures below HTTP (refused, reset, DNS, TLS), found anywhere in the inner-exception chain.</summary>
    public static FailureClass? FromTransport(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case System.Net.Sockets.SocketException socket:
                    return new(BackendErrorKind.Unavailable, true, $"network error ({socket.SocketErrorCode})");
                case HttpRequestException { StatusCode: null } http:
                    return new(BackendErrorKind.Unavailable, true, $"network error ({http.HttpRequestError})");
                case IOException when inner.InnerException is System.Net.Sockets.SocketException:
                    continue;
                case TimeoutException:
                    return new(BackendErrorKind.Timeout, true, "timed out");
            }
        }
        return null;
    }
}
