using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Rendering;

/// <summary>
/// Sums the per-node entries the agents write into a WarpDataSource's <c>status.nodes</c> into its BackendReachable
/// condition. Only nodes that serve the source now count: an entry left by a node that no longer selects the source,
/// or that was deleted, says nothing about today. Rules, in order: no counted entry → Unknown (<c>NotReported</c>);
/// any counted node failed → False with the first failing node (by name) and its reason; else True.
/// </summary>
public static class ReachabilityAggregator
{
    /// <summary>How many failing nodes a message names before it says "and N more".</summary>
    private const int NamedNodes = 3;

    public static ReachabilityVerdict Aggregate(IEnumerable<SourceNodeStatus>? entries, IReadOnlyCollection<string> servingNodes)
    {
        var serving = servingNodes.ToHashSet(StringComparer.Ordinal);
        var counted = (entries ?? [])
            .Where(e => serving.Contains(e.Node))
            .OrderBy(e => e.Node, StringComparer.Ordinal)
            .ToList();
        var silent = serving.Count - counted.Count;
        var waiting = silent > 0 ? $"; {silent} of {serving.Count} nodes have not reported yet" : "";
        if (counted.Count == 0)
        {
            return new(null, "NotReported", serving.Count == 0
                ? "no node serves the source, so no node agent has probed its backend"
                : $"none of the {serving.Count} nodes serving the source has reported on its backend yet");
        }

        var failing = counted.Where(e => !e.Reachable).ToList();
        if (failing.Count == 0)
        {
            return new(true, "Reachable", $"reached from {counted.Count} of {serving.Count} nodes{waiting}");
        }

        var first = failing[0];
        var named = string.Join("; ", failing.Take(NamedNodes).Select(e => $"node {e.Node}: {Sentence(e)}"));
        var more = failing.Count > NamedNodes ? $"; and {failing.Count - NamedNodes} more nodes" : "";
        return new(false, ValidReason(first.Reason), $"{failing.Count} of {counted.Count} reporting nodes cannot reach the backend: {named}{more}");
    }

    /// <summary>The agent's sentence, cleaned like any relayed text (an older or broken agent might send worse).</summary>
    private static string Sentence(SourceNodeStatus entry) => StatusText.Sentence(entry.Message, $"failed ({ValidReason(entry.Reason)})");

    /// <summary>The agent's reason if it is a CamelCase word (the CRD enforces it), else a generic one.</summary>
    private static string ValidReason(string reason) =>
        reason.Length is > 0 and <= 64 && char.IsAsciiLetter(reason[0]) && reason.All(char.IsAsciiLetterOrDigit) ? reason : "BackendUnreachable";
}

/// <summary>The BackendReachable condition's status (null = Unknown), reason and message.</summary>
public sealed record ReachabilityVerdict(bool? Reachable, string Reason, string Message);
