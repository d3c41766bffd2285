using Google.Apis.Auth.OAuth2;

namespace WarpDrive.Auth.Providers;

/// <summary>
/// A GCS bearer-token source over a Google.Apis.Auth <see cref="ServiceCredential"/> (external account or service
/// account key). Google's library does the protocol (STS exchange, impersonation, JWT grant); we force one
/// request per renewal so expiry, singleflight, retries and audit are ours.
/// </summary>
internal sealed class GoogleTokenSource : ICredentialProvider
{
    private readonly TokenRefresher<string> _refresher;

    public GoogleTokenSource(ProviderContext context, ServiceCredential credential)
    {
        Method = context.Method;
        _refresher = new TokenRefresher<string>(context.Backend, Method, async ct =>
        {
            await credential.RequestAccessTokenAsync(ct).ConfigureAwait(false);
            var token = credential.Token ?? throw new InvalidOperationException("no token after a successful request");
            var issued = new DateTimeOffset(DateTime.SpecifyKind(token.IssuedUtc, DateTimeKind.Utc));
            return new Expiring<string>(token.AccessToken, issued.AddSeconds(token.ExpiresInSeconds ?? 3600));
        }, context.Policy, context.Audit, context.Logger);
        Binding = new CredentialBinding(GcsToken: _refresher.GetAsync);
    }

    public string Method { get; }

    public CredentialBinding Binding { get; }

    public async ValueTask EnsureCurrentAsync(CancellationToken cancellationToken) => await _refresher.GetAsync(cancellationToken).ConfigureAwait(false);

    public void Dispose() => _refresher.Dispose();
}
