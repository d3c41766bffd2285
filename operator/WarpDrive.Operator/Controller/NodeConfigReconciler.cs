using Microsoft.Extensions.Logging;
using WarpDrive.Operator.Rendering;

namespace WarpDrive.Operator.Controller;

/// <summary>
/// Keeps every node's ConfigMap equal to its rendering. A ConfigMap whose <c>warpdrive.io/config-hash</c> already
/// matches is not written: agents reload on every change, so an unchanged node must see no write at all.
/// </summary>
public sealed class NodeConfigReconciler(NodeConfigPlanner planner, IClusterCache cache, IClusterClient client, ILogger logger) : IReconciler
{
    public async Task<ReconcileResult> ReconcileAsync(WorkKey key, CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        return ReconcileResult.Done;
    }

    /// <summary>Applies the ConfigMaps whose content changed; returns the names it applied.</summary>
    public async Task<IReadOnlyList<string>> SyncAsync(CancellationToken cancellationToken)
    {
        var applied = new List<string>();
        foreach (var plan in await planner.PlanAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = plan.ConfigMap.Metadata.Name;
            var wanted = plan.ConfigMap.Metadata.Annotations[NodeConfigMaps.HashAnnotation];
            var current = cache.OwnConfigMap(name);
            if (current?.Metadata.Annotations is { } annotations
                && annotations.TryGetValue(NodeConfigMaps.HashAnnotation, out var hash) && hash == wanted
                && current.Data is not null
                && NodeConfigMaps.Hash(new Dictionary<string, string>(current.Data)) == wanted)
            {
                continue;
            }

            await client.ApplyConfigMapAsync(plan.ConfigMap, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("applied {ConfigMap} for node {Node} ({Sources} sources, hash {Hash})",
                name, plan.Node.Metadata.Name, plan.Rendering.Included.Count, wanted[..12]);
            applied.Add(name);
        }

        return applied;
    }
}
