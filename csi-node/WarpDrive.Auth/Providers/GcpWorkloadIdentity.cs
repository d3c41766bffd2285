using System.Text.Json.Nodes;
using Google.Apis.Auth.OAuth2;
using WarpDrive.Config;

namespace WarpDrive.Auth.Providers;

/// <summary>
/// <c>gcp_wif</c>: builds the "external_account" credential configuration Google documents for workload identity
/// federation and lets Google.Apis.Auth run it: subject token (file, or Azure IMDS for an Entra token) → GCP STS
/// token exchange → optional service-account impersonation (IAM Credentials generateAccessToken).
/// </summary>
/// <remarks>
/// Settings: audience (the workload identity pool provider), service_account (impersonated when set), token_file or
/// subject_source: azure_managed_identity with azure_resource and client_id, sts_endpoint, impersonation_endpoint,
/// scope, timeout, retry_base_delay.
/// </remarks>
internal static class GcpWorkloadIdentity
{
    public const string DefaultStsEndpoint = "https://sts.googleapis.com/v1/token";
    public const string DefaultImpersonationEndpoint = "https://iamcredentials.googleapis.com";
    public const string DefaultScope = "https://www.googleapis.com/auth/cloud-platform";

    /// <summary>Azure IMDS, where Google's own Azure recipe reads the Entra token.</summary>
    public const string AzureImdsTokenUrl = "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01";

    public static ICredentialProvider Create(ProviderContext context)
    {
        var s = context.Settings;
        var json = new JsonObject
        {
            ["type"] = "external_account",
            ["audience"] = s.Required("audience", "for gcp_wif (the workload identity pool provider)"),
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
            ["token_url"] = s.Url("sts_endpoint", DefaultStsEndpoint).ToString(),
            ["credential_source"] = CredentialSource(s),
        };
        if (s.Optional("service_account") is { } account)
        {
            var endpoint = s.Url("impersonation_endpoint", DefaultImpersonationEndpoint).ToString().TrimEnd('/');
            json["service_account_impersonation_url"] = $"{endpoint}/v1/projects/-/serviceAccounts/{Uri.EscapeDataString(account)}:generateAccessToken";
        }
        var external = SubjectTokens.FromAzure(s)
            ? FromJson<UrlSourcedExternalAccountCredential>(json.ToJsonString()).ToGoogleCredential()
            : FromJson<FileSourcedExternalAccountCredential>(json.ToJsonString()).ToGoogleCredential();
        var credential = external
            .CreateScoped(s.Optional("scope") ?? DefaultScope)
            .CreateWithHttpClientFactory(IdentityHttp.GoogleFactory(context.Options));
        return new GoogleTokenSource(context, (ServiceCredential)credential.UnderlyingCredential);
    }

    private static JsonObject CredentialSource(AuthSettings s)
    {
        if (!SubjectTokens.FromAzure(s))
        {
            return new JsonObject { ["file"] = s.Required("token_file", "for gcp_wif (or subject_source: azure_managed_identity)") };
        }
        var resource = s.Optional("azure_resource") ?? SubjectTokens.DefaultAzureResource;
        var url = AzureImdsTokenUrl + "&resource=" + Uri.EscapeDataString(resource)
            + (s.Optional("client_id") is { } clientId ? "&client_id=" + Uri.EscapeDataString(clientId) : "");
        return new JsonObject
        {
            ["url"] = url,
            ["headers"] = new JsonObject { ["Metadata"] = "True" },
            ["format"] = new JsonObject { ["type"] = "json", ["subject_token_field_name"] = "access_token" },
        };
    }

    /// <summary>A GCP service-account key (the static GCS credential), from <c>service_account_key_file</c> or <c>_env</c>.</summary>
    public static ICredentialProvider FromServiceAccountKey(ProviderContext context, string keyJson)
    {
        var credential = FromJson<ServiceAccountCredential>(keyJson).ToGoogleCredential()
            .CreateScoped(context.Settings.Optional("scope") ?? DefaultScope)
            .CreateWithHttpClientFactory(IdentityHttp.GoogleFactory(context.Options));
        return new GoogleTokenSource(context, (ServiceCredential)credential.UnderlyingCredential);
    }

    // The typed factory (not GoogleCredential.FromJson): the JSON must be of the credential type we expect.
    private static T FromJson<T>(string json)
    {
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json));
        return CredentialFactory.FromStream<T>(stream);
    }
}
