namespace WarpDrive.Operator.Resources;

/// <summary>API group, version and the names every part of the operator agrees on.</summary>
public static class WarpDriveApi
{
    public const string Group = "warpdrive.io";
    public const string Version = "v1alpha1";
    public const string GroupVersion = Group + "/" + Version;

    /// <summary>The CSI driver name the node plugin registers with the kubelet.</summary>
    public const string CsiDriverName = "csi.warpdrive.io";

    /// <summary>Field manager for everything the operator writes with server-side apply.</summary>
    public const string FieldManager = "warpdrive-operator";
}

/// <summary>Values of <c>spec.backend.type</c>; the same set as the node agent's <c>backends[].type</c>.</summary>
public static class BackendTypes
{
    public const string Local = "local";
    public const string S3 = "s3";
    public const string AzureBlob = "azureblob";
    public const string Gcs = "gcs";
    public const string Rclone = "rclone";

    public static IReadOnlyList<string> All { get; } = [Local, S3, AzureBlob, Gcs, Rclone];
}

/// <summary>Values of <c>spec.auth.method</c>; the same set as the node agent's <c>backends[].auth.method</c>.</summary>
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

/// <summary>Values of a cache-warm job's phase, overall and per node.</summary>
public static class WarmPhases
{
    public const string Pending = "Pending";
    public const string Running = "Running";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";

    public static IReadOnlyList<string> All { get; } = [Pending, Running, Succeeded, Failed];
}

/// <summary>Condition types of a WarpDataSource.</summary>
public static class SourceConditions
{
    public const string Ready = "Ready";
    public const string CredentialsValid = "CredentialsValid";
    public const string BackendReachable = "BackendReachable";
}
