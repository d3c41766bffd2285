using WarpDrive.Config;

namespace WarpDrive.Csi;

/// <summary>
/// Which pods may mount which data sources. A source owned by a namespace (<c>backends[].namespace</c>) is
/// mountable from that namespace and from its <c>allowed_namespaces</c>; a source with neither is untenanted and
/// only mountable when kubelet did not say which namespace asks (no podInfoOnMount, e.g. csi-sanity).
/// </summary>
public static class TenancyPolicy
{
    /// <summary>Null when allowed; otherwise the reason, fit for a PERMISSION_DENIED message and a pod event.</summary>
    public static string? Deny(BackendConfig source, string? podNamespace)
    {
        var tenanted = source.Namespace.Length > 0 || source.AllowedNamespaces.Count > 0;
        if (string.IsNullOrEmpty(podNamespace))
        {
            return tenanted
                ? $"data source \"{source.Name}\" belongs to namespace \"{source.Namespace}\" but the request does not say which namespace the pod is in (the CSIDriver must set podInfoOnMount: true)"
                : null;
        }

        if (source.Namespace == podNamespace || source.AllowedNamespaces.Contains(podNamespace, StringComparer.Ordinal))
        {
            return null;
        }

        return tenanted
            ? $"pods in namespace \"{podNamespace}\" may not mount data source \"{source.Name}\": it belongs to namespace \"{source.Namespace}\" and allows [{string.Join(", ", source.AllowedNamespaces)}]"
            : $"pods in namespace \"{podNamespace}\" may not mount data source \"{source.Name}\": it belongs to no namespace (set backends[].namespace or allowed_namespaces in the node config)";
    }
}
