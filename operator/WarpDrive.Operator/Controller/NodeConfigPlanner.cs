using k8s.Models;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Controller;

/// <summary>
/// Renders every node's ConfigMap from the cached sources and nodes. Sources being deleted are left out, so the
/// first thing a deletion does is take the source off every node. Only the key names of referenced Secrets are read
/// (the renderer writes <c>&lt;key&gt;_file</c> settings); their values never pass through here.
/// </summary>
public sealed class NodeConfigPlanner(IClusterCache cache, IClusterClient client, OperatorOptions options)
{
    private readonly NodeConfigRenderer renderer = new(options);

    public async Task<IReadOnlyList<NodePlan>> PlanAsync(CancellationToken cancellationToken)
    {
        var sources = LiveSources(cache);
        var secrets = await ReferencedSecretsAsync(client, sources, cancellationToken).ConfigureAwait(false);
        var keys = new SecretKeyIndex(secrets.Values.OfType<V1Secret>());
        var controlPlaneUrl = options.ControlPlaneEnabled
            ? options.ControlPlaneUrlFor(cache.OwnService(OperatorOptions.ControlPlaneServiceName)?.Spec?.ClusterIP)
            : null;
        return cache.Nodes()
            .OrderBy(n => n.Metadata.Name, StringComparer.Ordinal)
            .Select(node =>
            {
                var rendering = renderer.Render(node, sources, keys, controlPlaneUrl);
                return new NodePlan(node, rendering, NodeConfigMaps.Build(node, rendering, options));
            })
            .ToList();
    }

    public static List<WarpDataSource> LiveSources(IClusterCache cache) =>
        cache.Sources().Where(s => s.Metadata.DeletionTimestamp is null).ToList();

    /// <summary>Every Secret some source references, by (namespace, name); null where it does not exist.</summary>
    public static async Task<Dictionary<(string Namespace, string Name), V1Secret?>> ReferencedSecretsAsync(
        IClusterClient client, IEnumerable<WarpDataSource> sources, CancellationToken cancellationToken)
    {
        var found = new Dictionary<(string, string), V1Secret?>();
        foreach (var source in sources)
        {
            if (source.Spec.Auth?.SecretRef is not { } reference)
            {
                continue;
            }

            var key = (SourceNames.Namespace(source), reference.Name);
            if (!found.ContainsKey(key))
            {
                found[key] = await client.GetSecretAsync(key.Item1, key.Item2, cancellationToken).ConfigureAwait(false);
            }
        }

        return found;
    }
}

/// <summary>One node's rendered configuration and the ConfigMap that carries it.</summary>
public sealed record NodePlan(V1Node Node, NodeConfigRendering Rendering, V1ConfigMap ConfigMap);
