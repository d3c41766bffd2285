using System.Globalization;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Rendering;

/// <summary>
/// Sums the per-node entries the agents write into a WarpCacheWarm's status into its phase, totals and progress.
/// Phase rules, in order: Failed if any node failed; Succeeded if every expected node reported and succeeded;
/// Running if any node runs or some already succeeded; else Pending.
/// </summary>
public static class WarmStatusAggregator
{
    /// <param name="nodes">The entries agents reported so far.</param>
    /// <param name="expectedNodes">How many nodes the job selects (source's and job's selectors together).</param>
    public static WarmAggregate Aggregate(IReadOnlyCollection<WarmNodeStatus> nodes, int expectedNodes)
    {
        var totals = new WarmTotals
        {
            FilesDone = nodes.Sum(n => n.FilesDone ?? 0),
            FilesTotal = nodes.Sum(n => n.FilesTotal ?? 0),
            BytesDone = nodes.Sum(n => n.BytesDone ?? 0),
            MbPerSecond = nodes.Where(n => n.Phase == WarmPhases.Running).Sum(n => n.MbPerSecond ?? 0),
            NodesSucceeded = nodes.Count(n => n.Phase == WarmPhases.Succeeded),
            NodesFailed = nodes.Count(n => n.Phase == WarmPhases.Failed),
            NodesRunning = nodes.Count(n => n.Phase == WarmPhases.Running),
        };
        // Nodes that should run the job but have not reported yet count as pending.
        totals.NodesPending = Math.Max(expectedNodes, nodes.Count) - totals.NodesSucceeded - totals.NodesFailed - totals.NodesRunning;

        string phase;
        if (totals.NodesFailed > 0)
        {
            phase = WarmPhases.Failed;
        }
        else if (expectedNodes > 0 && totals.NodesSucceeded >= expectedNodes && totals.NodesSucceeded == nodes.Count)
        {
            phase = WarmPhases.Succeeded;
        }
        else if (totals.NodesRunning > 0 || totals.NodesSucceeded > 0)
        {
            phase = WarmPhases.Running;
        }
        else
        {
            phase = WarmPhases.Pending;
        }

        var progress = string.Create(CultureInfo.InvariantCulture, $"{totals.FilesDone}/{totals.FilesTotal}");
        return new WarmAggregate(phase, progress, totals);
    }

    public static bool IsFinished(string? phase) => phase is WarmPhases.Succeeded or WarmPhases.Failed;
}

/// <summary>The job-level view of a warm: phase, a <c>done/total</c> progress string for kubectl, and sums.</summary>
public sealed record WarmAggregate(string Phase, string Progress, WarmTotals Totals);
