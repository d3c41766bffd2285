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
