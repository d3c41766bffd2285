using Google.Protobuf.Collections;
using WarpDrive.Config;

namespace WarpDrive.Csi;

/// <summary>
/// Which data source a volume names, from its id and volume_context: <c>source</c> / <c>namespace</c> when set,
/// else a static PV's handle <c>&lt;namespace&gt;/&lt;source&gt;</c> (or a bare <c>&lt;source&gt;</c>), else (inline
/// volumes) the pod's own namespace. Shared by NodePublishVolume and the Controller's ValidateVolumeCapabilities,
/// so both read a handle the same way.
/// </summary>
public readonly record struct VolumeHandle(string Source, string? Namespace)
{
    /// <summary>Null when nothing names a source (an inline volume without <c>source</c>).</summary>
    public static VolumeHandle? Of(string volumeId, MapField<string, string> context, bool ephemeral, string? podNamespace)
    {
        ArgumentNullException.ThrowIfNull(context);
        var source = context.TryGetValue(CsiDriver.SourceAttribute, out var s) && s.Length > 0 ? s : null;
        // An inline volume's id is kubelet's own (csi-<hash>), never a handle.
        var slash = ephemeral ? -1 : volumeId.LastIndexOf('/');
        if (source is null && !ephemeral)
        {
            source = volumeId[(slash + 1)..];
        }

        if (string.IsNullOrEmpty(source))
        {
            return null;
        }

        var ns = context.TryGetValue(CsiDriver.SourceNamespaceAttribute, out var n) && n.Length > 0 ? n
            : slash > 0 ? volumeId[..slash]
            : podNamespace;
        return new VolumeHandle(source, ns);
    }

    /// <summary>The handle a volume of <paramref name="source"/> (of <paramref name="ns"/>, if any) gets: what a static PV writes.</summary>
    public static string IdOf(string source, string? ns) => string.IsNullOrEmpty(ns) ? source : $"{ns}/{source}";

    /// <summary>
    /// The node config backend this handle means: the source's name as given (standalone configs and tools name
    /// backends freely), else the operator's <c>&lt;namespace&gt;-&lt;name&gt;</c> for the source's namespace, taken only
    /// when that backend really belongs to that namespace (the joined name alone could be another namespace's).
    /// </summary>
    public BackendConfig? FindSource(Func<string, BackendConfig?> find)
    {
        ArgumentNullException.ThrowIfNull(find);
        return find(Source)
            ?? (Namespace is { Length: > 0 } ns && find(CsiDriver.BackendNameOf(ns, Source)) is { } owned && owned.Namespace == ns ? owned : null);
    }
}
