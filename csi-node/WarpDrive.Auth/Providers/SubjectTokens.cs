using Azure.Core;
using Azure.Identity;
using WarpDrive.Config;

namespace WarpDrive.Auth.Providers;

/// <summary>
/// Where a federating provider gets the identity it trades in: a token file (a projected Kubernetes service-account
/// token or any OIDC JWT; re-read on every exchange because the kubelet rotates it) or the Azure managed identity
/// (an Entra JWT). Setting <c>subject_source</c>: <c>file</c> (default) or <c>azure_managed_identity</c>.
/// </summary>
internal static class SubjectTokens
{
    public const string File = "file";
    public const string AzureManagedIdentity = "azure_managed_identity";
    public const string DefaultAzureResource = "api://AzureADTokenExchange";

    public static bool FromAzure(AuthSettings s) => (s.Optional("subject_source") ?? File) switch
    {
        File => false,
        AzureManagedIdentity => true,
        _ => throw new ConfigException(s.Key("subject_source"), $"must be '{File}' or '{AzureManagedIdentity}'"),
    };

    /// <param name="fileVariable">The variable a platform sets to the token path (EKS: AWS_WEB_IDENTITY_TOKEN_FILE).</param>
    public static Func<CancellationToken, Task<string>> Create(ProviderContext context, string? fileVariable)
    {
        var s = context.Settings;
        if (FromAzure(s))
        {
            var azure = AzureCredentials.Create(AuthMethods.ManagedIdentity, context);
            var scopes = new[] { (s.Optional("azure_resource") ?? DefaultAzureResource).TrimEnd('/') + "/.default" };
            return async ct => (await azure.GetTokenAsync(new TokenRequestContext(scopes), ct).ConfigureAwait(false)).Token;
        }
        var path = (fileVariable is null ? s.Optional("token_file") : s.OptionalOrEnvironment("token_file", fileVariable))
            ?? throw new ConfigException(s.Key("token_file"), $"is required for {context.Method}" + (fileVariable is null ? "" : $" (or set {fileVariable})"));
        return async ct => (await System.IO.File.ReadAllTextAsync(path, ct).ConfigureAwait(false)).Trim();
    }
}
