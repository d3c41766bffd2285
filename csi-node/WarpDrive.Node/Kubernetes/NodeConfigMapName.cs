using System.Security.Cryptography;
using System.Text;

namespace WarpDrive.Node.Kubernetes;

/// <summary>Which ConfigMap holds this node's config: <c>--configmap</c>/<c>--configmap-namespace</c>, else the DaemonSet's env.</summary>
public sealed record NodeConfigMapName(string Namespace, string Name)
{
    public const string NameVariable = "WARPDRIVE_CONFIGMAP";
    public const string NamespaceVariable = "POD_NAMESPACE";
    private const string Prefix = "warpdrive-node-";
    private const int MaxNameLength = 253;

    /// <summary>Flags win over the environment; null with <paramref name="error"/> set when a part is known from neither.</summary>
    public static NodeConfigMapName? Resolve(string? name, string? ns, Func<string, string?> environment, out string? error)
    {
        name = NonEmpty(name) ?? NonEmpty(environment(NameVariable));
        ns = NonEmpty(ns) ?? NonEmpty(environment(NamespaceVariable));
        error = (name, ns) switch
        {
            (null, _) => $"--kube needs the node's ConfigMap: pass --configmap or set {NameVariable}",
            (_, null) => $"--kube needs the ConfigMap's namespace: pass --configmap-namespace or set {NamespaceVariable}",
            _ => null,
        };
        return error is null ? new NodeConfigMapName(ns!, Shorten(name!)) : null;
    }

    /// <summary>
    /// The operator's rule (operator/WarpDrive.Operator/Rendering/NodeConfigMaps.Name): <c>warpdrive-node-&lt;node&gt;</c>
    /// longer than an object name may be is cut and suffixed with a hash of the node name. The DaemonSet can only
    /// write <c>warpdrive-node-$(NODE_NAME)</c>, so the agent applies the same rule to what it is given.
    /// </summary>
    public static string Shorten(string name)
    {
        if (name.Length <= MaxNameLength || !name.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return name;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name[Prefix.Length..])))[..10];
        return $"{name[..(MaxNameLength - 11)].TrimEnd('.', '-')}-{hash}";
    }

    public override string ToString() => $"{Namespace}/{Name}";

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
