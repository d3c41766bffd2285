namespace WarpDrive.Config;

/// <summary>Values of <c>backends[].type</c>, and the <c>config</c> keys each one needs.</summary>
public static class BackendTypes
{
    public const string Local = "local";
    public const string S3 = "s3";
    public const string AzureBlob = "azureblob";
    public const string Gcs = "gcs";
    public const string Rclone = "rclone";

    public static IReadOnlyList<string> All { get; } = [Local, S3, AzureBlob, Gcs, Rclone];

    /// <summary>
    /// Per type, the config keys that must be present. Each inner list is a choice: one of its keys is enough
    /// (azureblob needs <c>account</c> or <c>endpoint</c>). Add a type or a key here and validation follows.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<string>>> RequiredConfig { get; } =
        new Dictionary<string, IReadOnlyList<IReadOnlyList<string>>>(StringComparer.Ordinal)
        {
            [Local] = [["root"]],
            [S3] = [["bucket"]],
            [AzureBlob] = [["container"], ["account", "endpoint"]],
            [Gcs] = [["bucket"]],
            [Rclone] = [["type"]],
        };
}

/// <summary>Values of <c>backends[].auth.method</c>.</summary>
public static class AuthMethods
{
    public const string ManagedIdentity = "managed_identity";
    public const string ServicePrincipal = "service_principal";
    public const string WorkloadIdentity = "workload_identity";
    public const string OidcFederation = "oidc_federation";
    public const string GcpWif = "gcp_wif";
    public const string StaticKeyVault = "static_keyvault";
    public const string Static = "static";
    public const string None = "none";

    public static IReadOnlyList<string> All { get; } =
        [ManagedIdentity, ServicePrincipal, WorkloadIdentity, OidcFederation, GcpWif, StaticKeyVault, Static, None];
}
