namespace WarpDrive.Auth;

/// <summary>Process-wide pieces of credential federation; every property is optional.</summary>
public sealed class FederationOptions
{
    /// <summary>Where refreshes are recorded; <see cref="AuthAudit.Shared"/> when null.</summary>
    public AuthAudit? Audit { get; init; }

    /// <summary>
    /// Creates the HTTP handler every identity SDK (Azure.Identity, Key Vault, AWS STS, Google auth) sends through.
    /// Null means each SDK's default. Tests use it to reach loopback test doubles under the real host names
    /// (the SDKs refuse plain-http authorities and bearer tokens over http).
    /// </summary>
    public Func<HttpMessageHandler>? IdentityHttpHandler { get; init; }

    /// <summary>
    /// Whose credentials these are when not the node's: a pod and its service account. Named in refresh log lines and
    /// audit entries, so a pod's failed exchange is told apart from another's on the same source.
    /// </summary>
    public string? Principal { get; init; }

    internal static readonly FederationOptions Default = new();
}
