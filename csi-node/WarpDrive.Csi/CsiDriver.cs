namespace WarpDrive.Csi;

/// <summary>Names the plugin shares with Kubernetes: the driver name, topology key and volume_context keys.</summary>
public static class CsiDriver
{
    /// <summary>The CSIDriver object's name and GetPluginInfo's name.</summary>
    public const string Name = "csi.warpdrive.io";

    /// <summary>The one topology segment NodeGetInfo reports: which node a volume is served on.</summary>
    public const string TopologyNodeKey = "topology.warpdrive.io/node";

    /// <summary>volume_context: the data source (a backend name in the node config).</summary>
    public const string SourceAttribute = "source";

    /// <summary>
    /// volume_context: the namespace of the data source (the operator's static PVs set it; an inline volume may, to
    /// name a source of another namespace that allows the pod's).
    /// </summary>
    public const string SourceNamespaceAttribute = "namespace";

    /// <summary>volume_context: a directory inside the source to publish instead of its root.</summary>
    public const string SubPathAttribute = "subPath";

    /// <summary>volume_context: kernel readahead for the source's mount (a size such as 8MiB).</summary>
    public const string ReadaheadAttribute = "readahead";

    /// <summary>
    /// The backend name the operator gives WarpDataSource <paramref name="source"/> of <paramref name="ns"/> in a node
    /// config: <c>&lt;namespace&gt;-&lt;name&gt;</c> (SourceNames.BackendName in operator/, held to this by a test there).
    /// </summary>
    public static string BackendNameOf(string ns, string source) => $"{ns}-{source}";

    /// <summary>Set by kubelet for CSI ephemeral inline volumes.</summary>
    public const string EphemeralAttribute = "csi.storage.k8s.io/ephemeral";

    /// <summary>Set by kubelet when the CSIDriver has podInfoOnMount: true.</summary>
    public const string PodNamespaceAttribute = "csi.storage.k8s.io/pod.namespace";

    public const string PodNameAttribute = "csi.storage.k8s.io/pod.name";

    public const string PodUidAttribute = "csi.storage.k8s.io/pod.uid";

    public const string ServiceAccountAttribute = "csi.storage.k8s.io/serviceAccount.name";

    /// <summary>
    /// Set by kubelet when the CSIDriver has tokenRequests: JSON <c>{"&lt;audience&gt;": {"token": "…",
    /// "expirationTimestamp": "…"}}</c>, the pod's service-account token per audience. A credential: never logged.
    /// </summary>
    public const string ServiceAccountTokensAttribute = "csi.storage.k8s.io/serviceAccount.tokens";
}
