using k8s.Models;
using WarpDrive.Config;

namespace WarpDrive.Node.Kubernetes;

/// <summary>
/// Whether a warm job is this node's to run, and what its spec means here. Pure functions: the runner calls them
/// with the current node config and labels.
/// </summary>
public static class WarmJobSelection
{
    /// <summary>
    /// The backend the operator rendered for the job's source into this node's config (named
    /// <c>&lt;namespace&gt;-&lt;source&gt;</c>), or null when the source does not select this node (or is not rendered yet).
    /// </summary>
    public static BackendConfig? Backend(WarmJob job, NodeConfig config)
    {
        if (job.Spec is not { Source.Length: > 0 } spec || job.Metadata.NamespaceProperty is not { Length: > 0 } ns)
        {
            return null;
        }

        var name = $"{ns}-{spec.Source}";
        return config.Backends.FirstOrDefault(b => b.Name == name);
    }

    /// <summary>
    /// True when every label of the job's nodeSelector is on this node. Unknown labels (the Node could not be read)
    /// match only an empty selector.
    /// </summary>
    public static bool SelectsNode(WarmJob job, IDictionary<string, string>? nodeLabels)
    {
        var selector = job.Spec?.NodeSelector;
        if (selector is null || selector.Count == 0)
        {
            return true;
        }

        return nodeLabels is not null && selector.All(s => nodeLabels.TryGetValue(s.Key, out var value) && value == s.Value);
    }

    /// <summary>This node's entry in the job's status, if it wrote one.</summary>
    public static WarmNodeEntry? OwnEntry(WarmJob job, string node) => job.Status?.Nodes?.FirstOrDefault(e => e.Node == node);

    /// <summary>
    /// spec.maxSize as bytes (unset: no cap). Returns false for a value that is not a Kubernetes quantity; the CRD's
    /// pattern normally refuses those first.
    /// </summary>
    public static bool TryMaxBytes(WarmJob job, out long bytes)
    {
        bytes = long.MaxValue;
        if (job.Spec?.MaxSize is not { Length: > 0 } text)
        {
            return true;
        }

        try
        {
            bytes = new ResourceQuantity(text).ToInt64();
            return bytes >= 0;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            return false;
        }
    }
}
