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

    /// <summary>Keys every remote type (s3, azureblob, gcs, rclone) reads: retry and paging knobs.</summary>
    public static IReadOnlyList<string> RemoteKeys { get; } = ["timeout", "retry_base_delay", "page_size"];

    /// <summary>
    /// Per type, every <c>config</c> key it reads; any other key is refused at load, so a typo
    /// (<c>follow_symlnks</c>, <c>rooot</c>) never passes silently. For rclone these are only our own keys: the
    /// remote's options are open-ended and are checked against the rclone binary when the backend is created.
    /// The backends read exactly these keys (WarpDrive.Backends; a test holds the two together).
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ConfigKeys { get; } =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
        {
            [Local] = ["root", "serve_in_place"],
            [S3] = ["bucket", "region", "endpoint", "path_style", "prefix", "access_key_env", "secret_key_env", .. RemoteKeys],
            [AzureBlob] = ["account", "container", "endpoint", "prefix", "account_key_env", "sas_token_env", "ca_file", .. RemoteKeys],
            // project: accepted (the examples name the bucket's project) but not needed to read objects.
            [Gcs] = ["bucket", "endpoint", "prefix", "project", .. RemoteKeys],
            [Rclone] = ["type", "path", "rclone_binary", "rclone_start_timeout", .. RemoteKeys],
        };

    /// <summary>True when <paramref name="type"/> takes keys beyond <see cref="ConfigKeys"/> (rclone: the remote's options).</summary>
    public static bool IsOpenEnded(string type) => type == Rclone;
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

/// <summary>YAML <c>backends[].auth.source</c>: whose identity the backend reads with.</summary>
public static class AuthSources
{
    public const string Node = "node";
    public const string Pod = "pod";

    public static IReadOnlyList<string> All { get; } = [Node, Pod];

    /// <summary>
    /// The methods that can federate a pod's service-account token, by the backend type each serves: the token is the
    /// subject of an exchange, so only federation methods can take one.
    /// </summary>
    public static IReadOnlyDictionary<string, string> PodMethods { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [AuthMethods.OidcFederation] = BackendTypes.S3,
        [AuthMethods.WorkloadIdentity] = BackendTypes.AzureBlob,
        [AuthMethods.GcpWif] = BackendTypes.Gcs,
    };

    /// <summary>
    /// The audience of the pod token kubelet must send for <paramref name="source"/> (CSIDriver tokenRequests): the
    /// <c>audience</c> setting, else the cloud's default — AWS STS's and Entra's token exchange audiences. GCP has no
    /// default (it is the workload identity pool provider, a required setting of gcp_wif): null.
    /// </summary>
    public static string? AudienceOf(BackendConfig source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Auth.Settings.TryGetValue("audience", out var value) && !string.IsNullOrWhiteSpace(value))
        {
            return value.Trim();
        }

        return source.Auth.Method switch
        {
            AuthMethods.OidcFederation => "sts.amazonaws.com",
            AuthMethods.WorkloadIdentity => "api://AzureADTokenExchange",
            _ => null,
        };
    }
}
