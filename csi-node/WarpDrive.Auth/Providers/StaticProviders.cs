using System.Text.Json;
using Amazon.Runtime;
using Azure.Security.KeyVault.Secrets;
using WarpDrive.Config;

namespace WarpDrive.Auth.Providers;

/// <summary><c>none</c>: the backend gets nothing and is anonymous (or uses its own config, e.g. local or rclone).</summary>
internal sealed class NoCredentials(string method) : ICredentialProvider
{
    public string Method { get; } = method;

    public CredentialBinding Binding { get; } = new();

    public ValueTask EnsureCurrentAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public void Dispose()
    {
    }
}

/// <summary>
/// <c>static</c>: long-lived keys by reference. s3: access_key_env/_file + secret_key_env/_file (+ session_token_*).
/// azureblob: account_key_env or sas_token_env, passed to the backend's own config keys of the same names (it reads
/// the variable itself). gcs: service_account_key_file/_env (a JSON key; Google's library signs the JWT grant).
/// </summary>
internal static class StaticCredentials
{
    public static ICredentialProvider Create(ProviderContext context)
    {
        var s = context.Settings;
        switch (context.BackendType)
        {
            case BackendTypes.S3:
                var access = s.Secret("access_key") ?? throw new ConfigException(s.Key("access_key_env"), "or access_key_file is required for static on s3");
                var secret = s.Secret("secret_key") ?? throw new ConfigException(s.Key("secret_key_env"), "or secret_key_file is required for static on s3");
                AWSCredentials aws = s.Secret("session_token") is { } session ? new SessionAWSCredentials(access, secret, session) : new BasicAWSCredentials(access, secret);
                return new Fixed(context.Method, new CredentialBinding(Aws: aws));
            case BackendTypes.AzureBlob:
                var extra = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var key in new[] { "account_key", "sas_token" })
                {
                    if (s.Optional(key + "_file") is not null)
                    {
                        throw new ConfigException(s.Key(key + "_file"), $"is not supported for azureblob; use {key}_env");
                    }
                    if (s.Optional(key + "_env") is { } variable)
                    {
                        extra[key + "_env"] = variable;
                    }
                }
                return extra.Count > 0
                    ? new Fixed(context.Method, new CredentialBinding(ExtraBackendConfig: extra))
                    : throw new ConfigException(s.Key("account_key_env"), "or sas_token_env is required for static on azureblob");
            case BackendTypes.Gcs:
                var keyJson = s.Secret("service_account_key") ?? throw new ConfigException(s.Key("service_account_key_file"), "or service_account_key_env is required for static on gcs");
                try
                {
                    return GcpWorkloadIdentity.FromServiceAccountKey(context, keyJson);
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or System.Security.Cryptography.CryptographicException)
                {
                    // Checked at start, named by key. The parser's message may quote the key's text: it is not passed on.
                    var (key, source) = s.Optional("service_account_key_env") is { } variable
                        ? ("service_account_key_env", $"the value of {variable}")
                        : ("service_account_key_file", $"the file {s.Optional("service_account_key_file")}");
                    throw new ConfigException(s.Key(key), $"{source} is not a Google service account key (JSON with type service_account, client_email, private_key)", e);
                }
            default:
                throw new InvalidOperationException($"static has no form for {context.BackendType}");
        }
    }

    private sealed class Fixed(string method, CredentialBinding binding) : ICredentialProvider
    {
        public string Method { get; } = method;

        public CredentialBinding Binding { get; } = binding;

        public ValueTask EnsureCurrentAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void Dispose()
        {
        }
    }
}

/// <summary>
/// <c>static_keyvault</c> (s3): the managed identity reads a Key Vault secret holding the key pair as JSON
/// <c>{"access_key_id": "...", "secret_access_key": "..."}</c>. Re-read every <c>refresh_interval</c> (default 1h)
/// so a rotated secret is picked up. Settings: key_vault_url, secret_name, client_id (user-assigned identity).
/// </summary>
/// <remarks>Azure.Security.KeyVault.Secrets does the Key Vault protocol (challenge-based auth included).</remarks>
internal sealed class KeyVaultStaticProvider : ICredentialProvider
{
    private readonly TokenRefresher<ImmutableCredentials> _refresher;

    public KeyVaultStaticProvider(ProviderContext context)
    {
        var s = context.Settings;
        var vault = s.Url("key_vault_url", s.Required("key_vault_url", "for static_keyvault"));
        var name = s.Required("secret_name", "for static_keyvault");
        var interval = s.Duration("refresh_interval", TimeSpan.FromHours(1));
        var options = new SecretClientOptions();
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = context.Policy.AttemptTimeout;
        if (IdentityHttp.AzureTransport(context.Options) is { } transport)
        {
            options.Transport = transport;
        }
        var client = new SecretClient(vault, AzureCredentials.Create(AuthMethods.ManagedIdentity, context), options);
        Method = context.Method;
        _refresher = new TokenRefresher<ImmutableCredentials>(context.Backend, Method, async ct =>
        {
            var secret = (await client.GetSecretAsync(name, cancellationToken: ct).ConfigureAwait(false)).Value;
            var pair = Parse(secret.Value)
                ?? throw new CredentialException(Backends.BackendErrorKind.AccessDenied, context.Backend, Method,
                    $"secret '{name}' is not JSON with access_key_id and secret_access_key");
            // Expiry is artificial: it only paces re-reads (the margin is added so the interval is what passes).
            return new Expiring<ImmutableCredentials>(pair, DateTimeOffset.UtcNow + interval + RefreshPolicy.RefreshMargin);
        }, context.Policy, context.Audit, context.Logger);
        Binding = new CredentialBinding(Aws: new FederatedAwsCredentials(_refresher));
    }

    public string Method { get; }

    public CredentialBinding Binding { get; }

    public async ValueTask EnsureCurrentAsync(CancellationToken cancellationToken) => await _refresher.GetAsync(cancellationToken).ConfigureAwait(false);

    public void Dispose() => _refresher.Dispose();

    private static ImmutableCredentials? Parse(string value)
    {
        try
        {
            using var json = JsonDocument.Parse(value);
            return json.RootElement.TryGetProperty("access_key_id", out var id) && json.RootElement.TryGetProperty("secret_access_key", out var key)
                && id.GetString() is { Length: > 0 } idText && key.GetString() is { Length: > 0 } keyText
                ? new ImmutableCredentials(idText, keyText, json.RootElement.TryGetProperty("session_token", out var t) ? t.GetString() : null)
                : null;
        }
        catch (JsonException)
        {
            return null; // the parser's message may quote the secret
        }
    }
}
