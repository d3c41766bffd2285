using k8s.Models;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Rendering;

/// <summary>Which nodes a source or a warm job selects: equality on every label of the selector; empty selects all.</summary>
public static class NodeSelection
{
    public static bool Matches(IDictionary<string, string>? selector, V1Node node)
    {
        if (selector is null || selector.Count == 0)
        {
            return true;
        }

        var labels = node.Metadata.Labels;
        return labels is not null && selector.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value);
    }

    public static bool Selects(WarpDataSource source, V1Node node) => Matches(source.Spec.NodeSelector, node);

    /// <summary>A warm job runs on a node that its source serves and that its own selector picks.</summary>
    public static bool Selects(WarpCacheWarm warm, WarpDataSource source, V1Node node) =>
        Selects(source, node) && Matches(warm.Spec.NodeSelector, node);
}
