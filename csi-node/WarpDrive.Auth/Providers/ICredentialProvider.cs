using Amazon.Runtime;
using Azure.Core;

namespace WarpDrive.Auth.Providers;

/// <summary>
/// One backend's source of credentials, chosen by <c>auth.method</c>. It hands the backend exactly one credential
/// form (the one its type needs) and can be asked to make sure that credential is current.
/// </summary>
internal interface ICredentialProvider : IDisposable
{
    /// <summary>The <c>auth.method</c> value, used in logs, audit and metrics.</summary>
    string Method { get; }

    CredentialBinding Binding { get; }

    /// <summary>Renews the credential if due; throws <see cref="CredentialException"/> when it cannot be had.</summary>
    ValueTask EnsureCurrentAsync(CancellationToken cancellationToken);
}

/// <summary>
/// What a provider gives the backend: at most one injected credential, and config keys to add to the backend's
/// map (for credentials the backend itself reads from the environment: shared keys, SAS tokens).
/// </summary>
internal sealed record CredentialBinding(
    AWSCredentials? Aws = null,
    TokenCredential? Azure = null,
    Func<CancellationToken, ValueTask<string>>? GcsToken = null,
    IReadOnlyDictionary<string, string>? ExtraBackendConfig = null);

/// <summary>Everything a provider is built from.</summary>
internal sealed record ProviderContext(string Backend, string Method, string BackendType, AuthSettings Settings, RefreshPolicy Policy, FederationOptions Options, AuthAudit Audit, Microsoft.Extensions.Logging.ILogger Logger);
