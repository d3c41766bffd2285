using System.Security.Cryptography;
using System.Text;
using k8s.Models;

namespace WarpDrive.Operator.Rendering;

/// <summary>
/// The per-node ConfigMap the agent on that node watches: <c>warpdrive-node-&lt;node&gt;</c> in the operator's
/// namespace. Owned by the Node, so it is garbage-collected with it. The <see cref="HashAnnotation"/> lets the agent
/// (and a human) tell at a glance whether two nodes run the same configuration.
/// </summary>
public static class NodeConfigMaps
{
    public const string ConfigKey = "config.yaml";
    public const string SourcesKey = "sources.yaml";
    public const string HashAnnotation = "warpdrive.io/config-hash";
    public const string NodeAnnotation = "warpdrive.io/node";
    private const string Prefix = "warpdrive-node-";

    /// <summary>
    /// <c>warpdrive-node-&lt;node&gt;</c>; a node name too long for that (names are at most 253 characters) is cut and
    /// suffixed with a hash of the full name so two long names never share a ConfigMap. The agent uses the same rule.
    /// </summary>
    public static string Name(string nodeName)
    {
        var name = Prefix + nodeName;
        if (name.Length <= 253)
        {
            return name;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(nodeName)))[..10];
        return $"{name[..(253 - 11)].TrimEnd('.', '-')}-{hash}";
    }

    /// <summary>Hex sha256 over the documents, in key order, each as key, NUL, content, NUL.</summary>
    public static string Hash(IReadOnlyDictionary<string, string> data)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in data.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append(key).Append('\0').Append(value).Append('\0');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public static V1ConfigMap Build(V1Node node, NodeConfigRendering rendering, OperatorOptions options)
    {
        var data = new Dictionary<string, string>
        {
            [ConfigKey] = rendering.ConfigYaml,
            [SourcesKey] = rendering.SourcesYaml,
        };
        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta
            {
                Name = Name(node.Metadata.Name),
                NamespaceProperty = options.Namespace,
                Labels = ManagedLabels.For("node-config"),
                Annotations = new Dictionary<string, string>
                {
                    [HashAnnotation] = Hash(data),
                    [NodeAnnotation] = node.Metadata.Name,
                },
                OwnerReferences =
                [
                    new V1OwnerReference
                    {
                        ApiVersion = "v1",
                        Kind = "Node",
                        Name = node.Metadata.Name,
                        Uid = node.Metadata.Uid,
                    },
                ],
            },
            Data = data,
        };
    }
}
