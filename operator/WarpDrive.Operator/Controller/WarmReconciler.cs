using Microsoft.Extensions.Logging;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Controller;

/// <summary>
/// One WarpCacheWarm. The node agents do the work and each writes its own <c>status.nodes[]</c> entry with its own
/// field manager; this reconciler only sums them up (phase, progress, totals, start and completion times,
/// conditions) and deletes the job <c>ttlSecondsAfterFinished</c> after it finished.
/// </summary>
public sealed class WarmReconciler(IClusterCache cache, IClusterClient client, IEventRecorder events, TimeProvider time, ILogger logger) : IReconciler
{
    public const string CompleteCondition = "Complete";
    public const string FailedCondition = "Failed";

    public async Task<ReconcileResult> ReconcileAsync(WorkKey key, CancellationToken cancellationToken)
    {
        var warm = cache.Warm(key.Namespace, key.Name);
        if (warm is null || warm.Metadata.DeletionTimestamp is not null)
        {
            return ReconcileResult.Done;
        }

        var now = Conditions.TruncateToSeconds(time.GetUtcNow().UtcDateTime);
        var previous = warm.Status;
        var status = Observe(warm, previous, now);
        if (!SameStatus(previous, status))
        {
            await client.ApplyWarmStatusAsync(warm, status, cancellationToken).ConfigureAwait(false);
            if (previous?.Phase != status.Phase)
            {
                Announce(warm, status);
            }
        }

        if (!WarmStatusAggregator.IsFinished(status.Phase) || warm.Spec.TtlSecondsAfterFinished is not { } ttl)
        {
            return ReconcileResult.Done;
        }

        var due = status.CompletionTime!.Value + TimeSpan.FromSeconds(ttl);
        if (now < due)
        {
            return ReconcileResult.After(due - now);
        }

        await client.DeleteWarmAsync(warm, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("{Namespace}/{Name}: deleted {Ttl}s after it finished", key.Namespace, key.Name, ttl);
        return ReconcileResult.Done;
    }

    private WarpCacheWarmStatus Observe(WarpCacheWarm warm, WarpCacheWarmStatus? previous, DateTime now)
    {
        var ns = warm.Metadata.NamespaceProperty ?? "default";
        var source = cache.Source(ns, warm.Spec.Source);
        var generation = warm.Metadata.Generation;
        var reports = previous?.Nodes ?? [];
        if (source is null)
        {
            // Nothing can run without the source; say so, and look again when it appears (source events re-queue warms).
            return new WarpCacheWarmStatus
            {
                Phase = previous?.Phase ?? WarmPhases.Pending,
                Progress = previous?.Progress,
                Totals = previous?.Totals,
                StartTime = previous?.StartTime,
                CompletionTime = previous?.CompletionTime,
                ObservedGeneration = generation,
                Conditions = Conditions.Merge(previous?.Conditions,
                    [Conditions.Make("SourceFound", false, "SourceNotFound", $"WarpDataSource {warm.Spec.Source} does not exist in namespace {ns}", generation)],
                    now),
            };
        }

        var expected = cache.Nodes().Count(n => NodeSelection.Selects(warm, source, n));
        var aggregate = WarmStatusAggregator.Aggregate(reports.ToList(), expected);
        var finished = WarmStatusAggregator.IsFinished(aggregate.Phase);
        var started = previous?.StartTime ?? (aggregate.Phase == WarmPhases.Pending ? null : (DateTime?)now);
        var completed = finished ? previous?.CompletionTime ?? now : (DateTime?)null;
        var failedNode = reports.FirstOrDefault(n => n.Phase == WarmPhases.Failed);
        return new WarpCacheWarmStatus
        {
            Phase = aggregate.Phase,
            Progress = aggregate.Progress,
            Totals = aggregate.Totals,
            StartTime = started,
            CompletionTime = completed,
            ObservedGeneration = generation,
            Conditions = Conditions.Merge(previous?.Conditions,
            [
                Conditions.Make("SourceFound", true, "SourceFound", $"WarpDataSource {source.Metadata.Name} selects {expected} nodes for this job", generation),
                Conditions.Make(CompleteCondition, aggregate.Phase == WarmPhases.Succeeded,
                    aggregate.Phase == WarmPhases.Succeeded ? "AllNodesSucceeded" : "InProgress",
                    $"{aggregate.Totals.NodesSucceeded} of {Math.Max(expected, reports.Count)} nodes succeeded", generation),
                Conditions.Make(FailedCondition, failedNode is not null,
                    failedNode is null ? "NoNodeFailed" : "NodeFailed",
                    failedNode is null ? "no node failed" : $"node {failedNode.Node} failed: {StatusText.Sentence(failedNode.Error, "no reason given")}", generation),
            ], now),
        };
    }

    private void Announce(WarpCacheWarm warm, WarpCacheWarmStatus status)
    {
        switch (status.Phase)
        {
            case WarmPhases.Failed:
                events.Warning(warm, "Failed", Conditions.Find(status.Conditions, FailedCondition)?.Message ?? "a node failed");
                break;
            case WarmPhases.Succeeded:
                events.Normal(warm, "Succeeded", $"warmed {status.Progress} files on {status.Totals?.NodesSucceeded} nodes");
                break;
            default:
                events.Normal(warm, status.Phase ?? WarmPhases.Pending, $"progress {status.Progress}");
                break;
        }
    }

    private static bool SameStatus(WarpCacheWarmStatus? current, WarpCacheWarmStatus wanted) =>
        current is not null
        && current.Phase == wanted.Phase
        && current.Progress == wanted.Progress
        && current.StartTime == wanted.StartTime
        && current.CompletionTime == wanted.CompletionTime
        && current.ObservedGeneration == wanted.ObservedGeneration
        && SameTotals(current.Totals, wanted.Totals)
        && (current.Conditions ?? []).Count == wanted.Conditions!.Count
        && wanted.Conditions.All(w => (current.Conditions ?? []).Any(c =>
            c.Type == w.Type && c.Status == w.Status && c.Reason == w.Reason && c.Message == w.Message && c.ObservedGeneration == w.ObservedGeneration));

    private static bool SameTotals(WarmTotals? a, WarmTotals? b) =>
        a is null || b is null
            ? a is null && b is null
            : a.FilesDone == b.FilesDone && a.FilesTotal == b.FilesTotal && a.BytesDone == b.BytesDone
              && a.MbPerSecond.Equals(b.MbPerSecond) && a.NodesSucceeded == b.NodesSucceeded && a.NodesFailed == b.NodesFailed
              && a.NodesRunning == b.NodesRunning && a.NodesPending == b.NodesPending;
}
