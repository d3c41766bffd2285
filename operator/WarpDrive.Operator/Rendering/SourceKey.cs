using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Rendering;

/// <summary>
/// The names a WarpDataSource gets in every place it appears. Namespaces and source names are DNS labels (the CRD
/// enforces it for sources), so joining them with '-' or '/' cannot produce a name that is not a valid backend name.
/// </summary>
public static class SourceNames
{
    /// <summary>The backend's name in the node config: <c>&lt;namespace&gt;-&lt;name&gt;</c>.</summary>
    public static string BackendName(WarpDataSource source) => $"{Namespace(source)}-{source.Metadata.Name}";

    /// <summary>
    /// Where the source appears below the agent's mount point: <c>/&lt;namespace&gt;&lt;spec.backend.mountPath&gt;</c>,
    /// by default <c>/&lt;namespace&gt;/&lt;name&gt;</c>. Always under the namespace's own directory, so one tenant
    /// cannot shadow another's data.
    /// </summary>
    public static string MountPath(WarpDataSource source) =>
        $"/{Namespace(source)}{source.Spec.Backend.MountPath ?? "/" + source.Metadata.Name}";

    /// <summary>The CSI volume handle and the key in sources.yaml: <c>&lt;namespace&gt;/&lt;name&gt;</c>.</summary>
    public static string VolumeHandle(WarpDataSource source) => $"{Namespace(source)}/{source.Metadata.Name}";

    /// <summary>The cluster-scoped PersistentVolume of a source: <c>warpdrive-&lt;namespace&gt;-&lt;name&gt;</c>.</summary>
    public static string PersistentVolumeName(WarpDataSource source) => $"warpdrive-{Namespace(source)}-{source.Metadata.Name}";

    public static string Namespace(WarpDataSource source) => source.Metadata.NamespaceProperty ?? "default";
}
