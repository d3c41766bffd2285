using System.Collections.Concurrent;
using Azure.Core;

namespace WarpDrive.Auth.Providers;

/// <summary>
/// An Azure <see cref="TokenCredential"/> that caches per scope set in <see cref="TokenRefresher{T}"/>s over an
/// Azure.Identity credential, so Azure tokens get the same margin, singleflight, retries and audit as the others.
/// </summary>
internal sealed class FederatedTokenCredential(Func<string[], TokenRefresher<AccessToken>> createRefresher) : TokenCredential, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<TokenRefresher<AccessToken>>> _byScopes = new(StringComparer.Ordinal);

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        GetTokenAsync(requestContext, cancellationToken).AsTask().GetAwaiter().GetResult();

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        For(requestContext.Scopes).GetAsync(cancellationToken);

    public TokenRefresher<AccessToken> For(string[] scopes) =>
        _byScopes.GetOrAdd(string.Join(' ', scopes), static (_, s) => new Lazy<TokenRefresher<AccessToken>>(() => s.createRefresher(s.scopes)), (createRefresher, scopes)).Value;

    public void Dispose()
    {
        foreach (var refresher in _byScopes.Values.Where(l => l.IsValueCreated))
        {
            refresher.Value.Dispose();
        }
    }
}
