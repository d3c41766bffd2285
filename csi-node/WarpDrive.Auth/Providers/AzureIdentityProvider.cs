using Azure.Core;
using Azure.Identity;
using WarpDrive.Config;

namespace WarpDrive.Auth.Providers;

/// <summary>
/// <c>managed_identity</c>, <c>service_principal</c> and <c>workload_identity</c>: an Azure.Identity credential
/// (which speaks IMDS and the Entra token endpoint) behind our cache, handed to azureblob as a <see cref="TokenCredential"/>.
/// </summary>
internal sealed class AzureIdentityProvider : ICredentialProvider
{
    /// <summary>The scope Azure Blob Storage asks for (BlobClientOptions' default audience).</summary>
    public static readonly string[] StorageScopes = ["https://storage.azure.com/.default"];

    private readonly FederatedTokenCredential _credential;

    public AzureIdentityProvider(ProviderContext context)
    {
        Method = context.Method;
        var inner = AzureCredentials.Create(Method, context);
        _credential = new FederatedTokenCredential(scopes => new TokenRefresher<AccessToken>(
            context.Backend, Method,
            async ct =>
            {
                var token = await inner.GetTokenAsync(new TokenRequestContext(scopes), ct).ConfigureAwait(false);
                return new Expiring<AccessToken>(token, token.ExpiresOn);
            },
            context.Policy, context.Audit, context.Logger));
        Binding = new CredentialBinding(Azure: _credential);
    }

    public string Method { get; }

    public CredentialBinding Binding { get; }

    public async ValueTask EnsureCurrentAsync(CancellationToken cancellationToken) =>
        await _credential.For(StorageScopes).GetAsync(cancellationToken).ConfigureAwait(false);

    public void Dispose() => _credential.Dispose();
}

/// <summary>Builds the Azure.Identity credential for an Azure method, with its own retries off (ours run around it).</summary>
internal static class AzureCredentials
{
    public static TokenCredential Create(string method, ProviderContext context)
    {
        var s = context.Settings;
        var transport = IdentityHttp.AzureTransport(context.Options);
        var authority = s.Optional("authority_host") is { } host ? s.Url("authority_host", host) : AzureAuthorityHosts.AzurePublicCloud;
        T Configure<T>(T options) where T : TokenCredentialOptions
        {
            options.Retry.MaxRetries = 0;
            options.Retry.NetworkTimeout = context.Policy.AttemptTimeout;
            options.AuthorityHost = authority;
            if (transport is not null)
            {
                options.Transport = transport;
            }
            return options;
        }

        switch (method)
        {
            case AuthMethods.ManagedIdentity:
                var id = s.Optional("client_id") is { } clientId ? ManagedIdentityId.FromUserAssignedClientId(clientId) : ManagedIdentityId.SystemAssigned;
                return new ManagedIdentityCredential(Configure(new ManagedIdentityCredentialOptions(id)));
            case AuthMethods.ServicePrincipal:
            {
                var tenant = s.Required("tenant_id", "for service_principal");
                var client = ClientId(s, "for service_principal");
                if (s.Optional("client_certificate_file") is { } certificate)
                {
                    return new ClientCertificateCredential(tenant, client, certificate, Configure(new ClientCertificateCredentialOptions { DisableInstanceDiscovery = true }));
                }
                var secret = s.Secret("client_secret")
                    ?? throw new ConfigException(s.Key("client_secret_env"), "or client_secret_file or client_certificate_file is required for service_principal");
                return new ClientSecretCredential(tenant, client, secret, Configure(new ClientSecretCredentialOptions { DisableInstanceDiscovery = true }));
            }
            case AuthMethods.WorkloadIdentity:
            {
                // AKS's webhook injects these three variables; settings win over them.
                var tenant = s.OptionalOrEnvironment("tenant_id", "AZURE_TENANT_ID")
                    ?? throw new ConfigException(s.Key("tenant_id"), "is required for workload_identity (or set AZURE_TENANT_ID)");
                var client = s.Optional("client_id") ?? s.Secret("client_id") ?? Environment.GetEnvironmentVariable("AZURE_CLIENT_ID")
                    ?? throw new ConfigException(s.Key("client_id_env"), "or client_id is required for workload_identity (or set AZURE_CLIENT_ID)");
                var file = s.OptionalOrEnvironment("token_file", "AZURE_FEDERATED_TOKEN_FILE")
                    ?? throw new ConfigException(s.Key("token_file"), "is required for workload_identity (or set AZURE_FEDERATED_TOKEN_FILE)");
                return new WorkloadIdentityCredential(Configure(new WorkloadIdentityCredentialOptions
                {
                    TenantId = tenant,
                    ClientId = client,
                    TokenFilePath = file,
                    DisableInstanceDiscovery = true,
                }));
            }
            default:
                throw new InvalidOperationException($"not an Azure method: {method}");
        }
    }

    private static string ClientId(AuthSettings s, string why) =>
        s.Optional("client_id") ?? s.Secret("client_id")
        ?? throw new ConfigException(s.Key("client_id_env"), $"or client_id is required {why}");
}
