using Microsoft.Extensions.Logging;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Controller;

/// <summary>
/// One WarpDataSource: its finalizer, its static PV and claim, its status and events; on deletion, the cleanup.
/// <para>
/// Deletion order, each step finished before the next: (1) the source is taken off every node's ConfigMap (the
/// planner leaves deleting sources out), (2) while a pod still mounts the claim, wait and look again, (3) delete the
/// claim and the PV, (4) re-mirror credentials without the source's Secret, (5) remove the finalizer. Steps 3–5 run
/// with no cancellation: once started they are not abandoned halfway, and the finalizer goes only after all of them.
/// </para>
/// </summary>
public sealed class SourceReconciler(
    IClusterCache cache,
    IClusterClient client,
    IEventRecorder events,
    NodeConfigPlanner planner,
    NodeConfigReconciler nodeConfigs,
    CredentialsReconciler credentials,
    TimeProvider time,
    ILogger logger) : IReconciler
{
    public const string Finalizer = "warpdrive.io/cleanup";

    /// <summary>How often a deletion looks again whether pods still use the claim.</summary>
    public static readonly TimeSpan PodWaitInterval = TimeSpan.FromSeconds(10);

    public async Task<ReconcileResult> ReconcileAsync(WorkKey key, CancellationToken cancellationToken)
    {
        var source = cache.Source(key.Namespace, key.Name);
        if (source is null)
        {
            return ReconcileResult.Done; // gone: the finalizer already did the cleanup
        }

        if (source.Metadata.DeletionTimestamp is not null)
        {
            return await FinalizeAsync(source, cancellationToken).ConfigureAwait(false);
        }

        var finalizers = source.Metadata.Finalizers ?? [];
        if (!finalizers.Contains(Finalizer))
        {
            // Before anything cluster-scoped exists, so the PV can never outlive the source.
            await client.SetFinalizersAsync(source, [.. finalizers, Finalizer], cancellationToken).ConfigureAwait(false);
        }

        await client.ApplyPersistentVolumeAsync(StaticVolumes.PersistentVolume(source), cancellationToken).ConfigureAwait(false);
        await client.ApplyClaimAsync(StaticVolumes.Claim(source), cancellationToken).ConfigureAwait(false);

        var previous = source.Status;
        var status = await ObserveAsync(source, cancellationToken).ConfigureAwait(false);
        if (!SameStatus(previous, status))
        {
            await client.ApplySourceStatusAsync(source, status, cancellationToken).ConfigureAwait(false);
            AnnounceChanges(source, previous, status);
        }

        return ReconcileResult.Done;
    }

    private async Task<ReconcileResult> FinalizeAsync(WarpDataSource source, CancellationToken cancellationToken)
    {
        var finalizers = source.Metadata.Finalizers ?? [];
        if (!finalizers.Contains(Finalizer))
        {
            return ReconcileResult.Done; // not ours (anymore)
        }

        var name = $"{SourceNames.Namespace(source)}/{source.Metadata.Name}";
        await nodeConfigs.SyncAsync(cancellationToken).ConfigureAwait(false);

        var pods = await client.PodsUsingClaimAsync(SourceNames.Namespace(source), source.Metadata.Name, cancellationToken).ConfigureAwait(false);
        if (pods.Count > 0)
        {
            var shown = string.Join(", ", pods.Take(5)) + (pods.Count > 5 ? $" and {pods.Count - 5} more" : "");
            events.Normal(source, "WaitingForPods", $"removed from every node; the claim is still used by {shown}");
            logger.LogInformation("{Source}: waiting for {Pods} pods to release the claim", name, pods.Count);
            return ReconcileResult.After(PodWaitInterval);
        }

        // From here on: no cancellation, so the finalizer is never removed before the cleanup it guards is complete.
        await client.DeleteClaimAsync(SourceNames.Namespace(source), source.Metadata.Name, CancellationToken.None).ConfigureAwait(false);
        await client.DeletePersistentVolumeAsync(SourceNames.PersistentVolumeName(source), CancellationToken.None).ConfigureAwait(false);
        await credentials.SyncAsync(CancellationToken.None).ConfigureAwait(false);
        await client.SetFinalizersAsync(source, finalizers.Where(f => f != Finalizer).ToList(), CancellationToken.None).ConfigureAwait(false);
        events.Normal(source, "Deleted", "removed from every node; PersistentVolume and claim deleted");
        logger.LogInformation("{Source}: cleaned up, finalizer removed", name);
        return ReconcileResult.Done;
    }

    /// <summary>What the cluster says about the source now, as the status to write.</summary>
    private async Task<WarpDataSourceStatus> ObserveAsync(WarpDataSource source, CancellationToken cancellationToken)
    {
        var generation = source.Metadata.Generation;
        var handle = SourceNames.VolumeHandle(source);
        var plans = await planner.PlanAsync(cancellationToken).ConfigureAwait(false);
        var selected = plans.Where(p => NodeSelection.Selects(source, p.Node)).ToList();
        var serving = selected.Where(p => p.Rendering.Included.Contains(handle)).ToList();
        var rejection = selected.SelectMany(p => p.Rendering.Rejected).FirstOrDefault(r => r.Source == handle);
        var readyAgents = await client.NodesWithReadyAgentAsync(cancellationToken).ConfigureAwait(false);
        var nodesReady = serving.Count(p => readyAgents.Contains(p.Node.Metadata.Name));

        var credentialsValid = await CredentialsConditionAsync(source, generation, cancellationToken).ConfigureAwait(false);
        // A pod identity source gives the node no identity of its own to probe the backend with: each pod's access is
        // checked with that pod's credentials when it reads. Silence from the agents is then expected, not a wait, and
        // a node's credential failure (it has none for this source) says nothing about the pods' access; a network
        // failure (Unreachable, Timeout, NotFound, …) still does.
        var podIdentity = CredentialsLayout.ReadsWithPodIdentity(source.Spec.Auth);
        var reports = podIdentity
            ? source.Status?.Nodes?.Where(e => e.Reason is not (NodeCredentialFailures.AccessDenied or NodeCredentialFailures.SetupFailed)).ToList()
            : source.Status?.Nodes;
        // What the serving nodes' agents observed (each writes its own status.nodes entry).
        var reachability = ReachabilityAggregator.Aggregate(reports, serving.Select(p => p.Node.Metadata.Name).ToList());
        if (podIdentity && reachability.Reachable is null && serving.Count > 0)
        {
            reachability = new ReachabilityVerdict(null, "PodIdentity",
                "each pod reads with its own service account's identity: the backend is checked with that identity when the pod reads, not by the node");
        }

        var reachable = Conditions.Make(SourceConditions.BackendReachable, reachability.Reachable, reachability.Reason, reachability.Message, generation);

        StatusCondition ready;
        if (credentialsValid.Status == "False")
        {
            ready = Conditions.Make(SourceConditions.Ready, false, "CredentialsInvalid", credentialsValid.Message, generation);
        }
        else if (rejection is not null)
        {
            ready = Conditions.Make(SourceConditions.Ready, false, "Rejected", rejection.Reason, generation);
        }
        else if (selected.Count == 0)
        {
            ready = Conditions.Make(SourceConditions.Ready, false, "NoNodes", "no node matches spec.nodeSelector", generation);
        }
        else if (nodesReady < selected.Count)
        {
            ready = Conditions.Make(SourceConditions.Ready, false, "NodesNotReady",
                $"rendered into {serving.Count} of {selected.Count} nodes' configs; {nodesReady} node agents ready", generation);
        }
        else if (reachability.Reachable == false)
        {
            ready = Conditions.Make(SourceConditions.Ready, false, "BackendUnreachable", reachability.Message, generation);
        }
        else if (reachability.Reachable is null && podIdentity)
        {
            ready = Conditions.Make(SourceConditions.Ready, true, "Serving",
                $"served by {nodesReady} nodes; each pod reads with its own identity, checked when it reads", generation);
        }
        else if (reachability.Reachable is null)
        {
            ready = Conditions.Make(SourceConditions.Ready, false, "BackendNotReported",
                $"served by {nodesReady} nodes; waiting for their agents to report whether they reach the backend", generation);
        }
        else
        {
            ready = Conditions.Make(SourceConditions.Ready, true, "Serving", $"served by {nodesReady} nodes, {reachability.Message}", generation);
        }

        return new WarpDataSourceStatus
        {
            Conditions = Conditions.Merge(source.Status?.Conditions, [ready, credentialsValid, reachable], time.GetUtcNow().UtcDateTime),
            ObservedGeneration = generation,
            NodesReady = nodesReady,
            NodesTotal = selected.Count,
        };
    }

    private async Task<StatusCondition> CredentialsConditionAsync(WarpDataSource source, long? generation, CancellationToken cancellationToken)
    {
        if (source.Spec.Auth?.SecretRef is not { } reference)
        {
            return Conditions.Make(SourceConditions.CredentialsValid, true, "NoSecretNeeded", "the source references no Secret", generation);
        }

        var secret = await client.GetSecretAsync(SourceNames.Namespace(source), reference.Name, cancellationToken).ConfigureAwait(false);
        if (secret is null)
        {
            return Conditions.Make(SourceConditions.CredentialsValid, false, "SecretNotFound",
                $"Secret {reference.Name} named by spec.auth.secretRef does not exist in namespace {SourceNames.Namespace(source)}", generation);
        }

        if ((secret.Data?.Count ?? 0) == 0 && (secret.StringData?.Count ?? 0) == 0)
        {
            return Conditions.Make(SourceConditions.CredentialsValid, false, "SecretEmpty",
                $"Secret {reference.Name} has no keys", generation);
        }

        // Key names only: values are never read here.
        var keys = string.Join(", ", (secret.Data?.Keys ?? []).Order(StringComparer.Ordinal));
        return Conditions.Make(SourceConditions.CredentialsValid, true, "SecretFound", $"Secret {reference.Name} provides {keys}", generation);
    }

    /// <summary>Events only on transitions, so a resync of an unchanged source is silent.</summary>
    private void AnnounceChanges(WarpDataSource source, WarpDataSourceStatus? before, WarpDataSourceStatus after)
    {
        var credentialsBefore = Conditions.Find(before?.Conditions, SourceConditions.CredentialsValid);
        var credentialsAfter = Conditions.Find(after.Conditions, SourceConditions.CredentialsValid)!;
        if (credentialsAfter.Status == "False" && credentialsBefore?.Reason != credentialsAfter.Reason)
        {
            events.Warning(source, credentialsAfter.Reason, credentialsAfter.Message);
        }

        var readyBefore = Conditions.Find(before?.Conditions, SourceConditions.Ready);
        var readyAfter = Conditions.Find(after.Conditions, SourceConditions.Ready)!;
        if (readyAfter.Reason == "Rejected" && readyBefore?.Reason != "Rejected")
        {
            events.Warning(source, "Rejected", readyAfter.Message);
        }

        var reachableBefore = Conditions.Find(before?.Conditions, SourceConditions.BackendReachable);
        var reachableAfter = Conditions.Find(after.Conditions, SourceConditions.BackendReachable)!;
        if (reachableAfter.Status == "False" && (reachableBefore?.Status != "False" || reachableBefore.Reason != reachableAfter.Reason))
        {
            events.Warning(source, "BackendUnreachable", reachableAfter.Message);
        }
        else if (reachableAfter.Status == "True" && reachableBefore?.Status != "True")
        {
            events.Normal(source, "BackendReachable", reachableAfter.Message);
        }

        if (before?.ObservedGeneration != after.ObservedGeneration)
        {
            events.Normal(source, "Rendered", $"generation {after.ObservedGeneration}: selects {after.NodesTotal} nodes, {after.NodesReady} ready");
        }
    }

    private static bool SameStatus(WarpDataSourceStatus? current, WarpDataSourceStatus wanted)
    {
        if (current is null || current.ObservedGeneration != wanted.ObservedGeneration
            || current.NodesReady != wanted.NodesReady || current.NodesTotal != wanted.NodesTotal)
        {
            return false;
        }

        var before = current.Conditions ?? [];
        return before.Count == wanted.Conditions!.Count && wanted.Conditions.All(w => before.Any(c =>
            c.Type == w.Type && c.Status == w.Status && c.Reason == w.Reason && c.Message == w.Message
            && c.ObservedGeneration == w.ObservedGeneration));
    }
}

/// <summary>The reasons of a node's report that are about the node's own credentials, not the backend's reachability.</summary>
internal static class NodeCredentialFailures
{
    public const string AccessDenied = "AccessDenied";
    public const string SetupFailed = "SetupFailed";
}
