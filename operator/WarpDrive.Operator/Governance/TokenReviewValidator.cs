using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using WarpDrive.ControlPlane.Auth;

namespace WarpDrive.Operator.Governance;

/// <summary>How <see cref="TokenReviewValidator"/> asks the API server and how long it trusts an answer.</summary>
public sealed record TokenReviewSettings
{
    public const string DefaultAudience = "warpdrive-control-plane";

    /// <summary>Sent as <c>spec.audiences</c>: tokens minted for anything else (e.g. the API server itself) are refused.</summary>
    public string Audience { get; init; } = DefaultAudience;

    /// <summary>How long a token that maps to a role is trusted without asking again.</summary>
    public TimeSpan PositiveTtl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a refused token (unauthenticated, wrong audience, no role) is refused without asking again.</summary>
    public TimeSpan NegativeTtl { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for the API server; past it the request gets 401 rather than hanging.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Cached answers at most; past it answers are not cached until expired ones are compacted away.</summary>
    public int MaxCachedTokens { get; init; } = 10_000;
}

/// <summary>
/// The control plane's bearer tokens in a cluster: each token is sent to the API server in a TokenReview with our
/// audience, and an authenticated identity is mapped to a role by <see cref="RoleMap"/>.
/// <para>
/// Answers are cached briefly, keyed by the token's SHA-256 (the token itself is never kept, logged or used as a key),
/// so a busy agent costs one review a minute rather than one per batch. An API server error or timeout is not an
/// answer: it is not cached, it is logged without the token, and the request gets 401 (fail closed).
/// </para>
/// Thread-safe; concurrent first requests with one token may each ask (harmless, and no lock is held across the call).
/// </summary>
public sealed class TokenReviewValidator : ITokenValidator, IDisposable
{
    private readonly IKubernetes _client;
    private readonly RoleMap _roles;
    private readonly TokenReviewSettings _settings;
    private readonly ILogger _logger;
    private readonly MemoryCache _cache;

    public TokenReviewValidator(IKubernetes client, RoleMap roles, TokenReviewSettings settings, ILogger logger)
    {
        _client = client;
        _roles = roles;
        _settings = settings;
        _logger = logger;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = settings.MaxCachedTokens });
    }

    public async ValueTask<TokenPrincipal?> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (_cache.TryGetValue(key, out Answer? cached))
        {
            return cached!.Principal;
        }

        var review = await ReviewAsync(token, cancellationToken).ConfigureAwait(false);
        if (review is null)
        {
            return null;
        }

        var principal = Decide(review.Status);
        using var entry = _cache.CreateEntry(key);
        entry.Value = new Answer(principal);
        entry.Size = 1;
        entry.AbsoluteExpirationRelativeToNow = principal is null ? _settings.NegativeTtl : _settings.PositiveTtl;
        return principal;
    }

    /// <summary>The API server's answer, or null when there is none (error, timeout): nothing to cache then.</summary>
    private async Task<V1TokenReview?> ReviewAsync(string token, CancellationToken cancellationToken)
    {
        var request = new V1TokenReview
        {
            ApiVersion = "authentication.k8s.io/v1",
            Kind = "TokenReview",
            Spec = new V1TokenReviewSpec { Token = token, Audiences = [_settings.Audience] },
        };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_settings.Timeout);
        try
        {
            return await _client.AuthenticationV1.CreateTokenReviewAsync(request, cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _logger.LogWarning("TokenReview got no answer within {Timeout}; refusing the request", _settings.Timeout);
            return null;
        }
        catch (HttpOperationException error)
        {
            // Only the status: the response body is the API server's and is not ours to copy into a log.
            _logger.LogWarning("TokenReview failed with HTTP {Status}; refusing the request (not cached)", (int)error.Response.StatusCode);
            return null;
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // Transport and parsing errors name hosts and types, never the request body that holds the token.
            _logger.LogWarning("TokenReview failed: {Type}: {Message}; refusing the request (not cached)", error.GetType().Name, error.Message);
            return null;
        }
    }

    private TokenPrincipal? Decide(V1TokenReviewStatus? status)
    {
        if (status is not { Authenticated: true, User.Username: { Length: > 0 } username })
        {
            return null;
        }

        // An API server that ignores audiences answers without them; only an explicit match counts.
        if (status.Audiences is null || !status.Audiences.Contains(_settings.Audience, StringComparer.Ordinal))
        {
            _logger.LogInformation("token of {User} is not for audience {Audience}; refused", username, _settings.Audience);
            return null;
        }

        var role = _roles.RoleOf(username, (IReadOnlyCollection<string>?)status.User.Groups?.ToList() ?? []);
        if (role is null)
        {
            _logger.LogInformation("{User} is authenticated but has no control-plane role (groups {Groups}); refused", username,
                string.Join(", ", status.User.Groups ?? []));
            return null;
        }

        return new TokenPrincipal(username, role);
    }

    public void Dispose() => _cache.Dispose();

    private sealed record Answer(TokenPrincipal? Principal);
}
