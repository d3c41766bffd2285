using System.Net.Sockets;
using Amazon.Runtime;
using Azure;
using Azure.Identity;
using Google.Apis.Auth.OAuth2.Responses;
using Microsoft.Identity.Client;
using Polly.Timeout;
using WarpDrive.Backends;

namespace WarpDrive.Auth;

/// <summary>
/// Classifies a failed call to an identity endpoint, whichever SDK made it: what it becomes for the filesystem,
/// whether retrying may help, and a description safe for logs (status and error code only: identity endpoints
/// echo request fields in their bodies, and SDK messages can quote them).
/// </summary>
internal readonly record struct IdentityFailure(BackendErrorKind Kind, bool Transient, string Description)
{
    public static IdentityFailure Classify(Exception e, TimeSpan attemptTimeout)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (ClassifyOne(inner, attemptTimeout) is { } failure)
            {
                return failure;
            }
        }
        return new(BackendErrorKind.AccessDenied, false, e.GetType().Name);
    }

    public static IdentityFailure FromStatus(int status, string? code)
    {
        var description = string.IsNullOrEmpty(code) ? $"HTTP {status}" : $"HTTP {status} ({code})";
        return status switch
        {
            408 or 504 => new(BackendErrorKind.Timeout, true, description),
            429 => new(BackendErrorKind.Throttled, true, description),
            >= 500 => new(BackendErrorKind.Unavailable, true, description),
            // 400 (invalid_grant, InvalidIdentityToken), 401, 403, and 404 (no such identity) will not heal by retrying.
            _ => new(BackendErrorKind.AccessDenied, false, description),
        };
    }

    private static IdentityFailure? ClassifyOne(Exception e, TimeSpan attemptTimeout) => e switch
    {
        CredentialException c => new(c.Kind, false, c.Reason),
        TimeoutRejectedException => new(BackendErrorKind.Timeout, true, $"no answer within {attemptTimeout.TotalSeconds:0.###}s"),
        RequestFailedException { Status: > 0 } r => FromStatus(r.Status, r.ErrorCode),
        MsalServiceException { StatusCode: > 0 } m => FromStatus(m.StatusCode, m.ErrorCode),
        AmazonServiceException s when (int)s.StatusCode > 0 => FromStatus((int)s.StatusCode, s.ErrorCode),
        TokenResponseException { StatusCode: { } status } t => FromStatus((int)status, t.Error?.Error),
        HttpRequestException { StatusCode: { } status } => FromStatus((int)status, null),
        SocketException socket => new(BackendErrorKind.Unavailable, true, $"network error ({socket.SocketErrorCode})"),
        HttpRequestException { StatusCode: null, InnerException: null } http => new(BackendErrorKind.Unavailable, true, $"network error ({http.HttpRequestError})"),
        TaskCanceledException or TimeoutException => new(BackendErrorKind.Timeout, true, "timed out"),
        FileNotFoundException or DirectoryNotFoundException => new(BackendErrorKind.AccessDenied, false, "token file not found"),
        UnauthorizedAccessException => new(BackendErrorKind.AccessDenied, false, "token file not readable"),
        // Azure.Identity's "this environment has no such identity" (no IMDS, no token file): not transient here.
        CredentialUnavailableException when e.InnerException is null => new(BackendErrorKind.Unavailable, false, "credential unavailable"),
        _ => null,
    };
}
