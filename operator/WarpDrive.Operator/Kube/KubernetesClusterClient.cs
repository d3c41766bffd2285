using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Kube;

/// <summary>
/// <see cref="IClusterClient"/> on the API server. Writes are server-side apply with field manager
/// <see cref="WarpDriveApi.FieldManager"/> and <c>force</c> (the operator is the only rightful owner of these
/// fields); finalizers are a JSON patch guarded by resourceVersion.
/// </summary>
public sealed class KubernetesClusterClient(IKubernetes client, OperatorOptions options) : IClusterClient
{
    private const string WarmPlural = "warpcachewarms";
    private const string SourcePlural = "warpdatasources";

    public Task ApplyConfigMapAsync(V1ConfigMap configMap, CancellationToken cancellationToken) =>
        client.CoreV1.PatchNamespacedConfigMapAsync(Apply(configMap), configMap.Metadata.Name, configMap.Metadata.NamespaceProperty,
            fieldManager: WarpDriveApi.FieldManager, force: true, cancellationToken: cancellationToken);

    public Task ApplySecretAsync(V1Secret secret, CancellationToken cancellationToken) =>
        client.CoreV1.PatchNamespacedSecretAsync(Apply(secret), secret.Metadata.Name, secret.Metadata.NamespaceProperty,
            fieldManager: WarpDriveApi.FieldManager, force: true, cancellationToken: cancellationToken);

    public Task ApplyPersistentVolumeAsync(V1PersistentVolume volume, CancellationToken cancellationToken) =>
        client.CoreV1.PatchPersistentVolumeAsync(Apply(volume), volume.Metadata.Name,
            fieldManager: WarpDriveApi.FieldManager, force: true, cancellationToken: cancellationToken);

    public Task ApplyClaimAsync(V1PersistentVolumeClaim claim, CancellationToken cancellationToken) =>
        client.CoreV1.PatchNamespacedPersistentVolumeClaimAsync(Apply(claim), claim.Metadata.Name, claim.Metadata.NamespaceProperty,
            fieldManager: WarpDriveApi.FieldManager, force: true, cancellationToken: cancellationToken);

    public Task DeletePersistentVolumeAsync(string name, CancellationToken cancellationToken) =>
        IgnoreNotFound(() => client.CoreV1.DeletePersistentVolumeAsync(name, cancellationToken: cancellationToken));

    public Task DeleteClaimAsync(string ns, string name, CancellationToken cancellationToken) =>
        IgnoreNotFound(() => client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(name, ns, cancellationToken: cancellationToken));

    public Task SetFinalizersAsync(WarpDataSource source, IList<string> finalizers, CancellationToken cancellationToken)
    {
        var patch = new JsonArray(
            new JsonObject { ["op"] = "test", ["path"] = "/metadata/resourceVersion", ["value"] = source.Metadata.ResourceVersion },
            new JsonObject { ["op"] = "add", ["path"] = "/metadata/finalizers", ["value"] = new JsonArray([.. finalizers.Select(f => JsonValue.Create(f))]) });
        return client.CustomObjects.PatchNamespacedCustomObjectAsync(
            new V1Patch(patch.ToJsonString(), V1Patch.PatchType.JsonPatch), WarpDriveApi.Group, WarpDriveApi.Version,
            SourceNames.Namespace(source), SourcePlural, source.Metadata.Name, cancellationToken: cancellationToken);
    }

    public Task ApplySourceStatusAsync(WarpDataSource source, WarpDataSourceStatus status, CancellationToken cancellationToken)
    {
        // status.nodes belongs to the agents' field managers (one per node): never send it.
        var mine = new WarpDataSourceStatus
        {
            Conditions = status.Conditions,
            ObservedGeneration = status.ObservedGeneration,
            NodesReady = status.NodesReady,
            NodesTotal = status.NodesTotal,
            CachedBytes = status.CachedBytes,
            SourceObjects = status.SourceObjects,
            SourceBytes = status.SourceBytes,
            LastCrawlTime = status.LastCrawlTime,
        };
        var body = new WarpDataSource
        {
            Metadata = new V1ObjectMeta { Name = source.Metadata.Name, NamespaceProperty = source.Metadata.NamespaceProperty },
            Spec = null!,
            Status = mine,
        };
        return client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(Apply(body), WarpDriveApi.Group, WarpDriveApi.Version,
            SourceNames.Namespace(source), SourcePlural, source.Metadata.Name,
            fieldManager: WarpDriveApi.FieldManager, force: true, cancellationToken: cancellationToken);
    }

    public Task ApplyWarmStatusAsync(WarpCacheWarm warm, WarpCacheWarmStatus status, CancellationToken cancellationToken)
    {
        // status.nodes belongs to the agents' field managers: never send it, so apply cannot take it over.
        var mine = new WarpCacheWarmStatus
        {
            Phase = status.Phase,
            Progress = status.Progress,
            Totals = status.Totals,
            StartTime = status.StartTime,
            CompletionTime = status.CompletionTime,
            ObservedGeneration = status.ObservedGeneration,
            Conditions = status.Conditions,
        };
        var body = new WarpCacheWarm
        {
            Metadata = new V1ObjectMeta { Name = warm.Metadata.Name, NamespaceProperty = warm.Metadata.NamespaceProperty },
            Spec = null!,
            Status = mine,
        };
        return client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(Apply(body), WarpDriveApi.Group, WarpDriveApi.Version,
            warm.Metadata.NamespaceProperty, WarmPlural, warm.Metadata.Name,
            fieldManager: WarpDriveApi.FieldManager, force: true, cancellationToken: cancellationToken);
    }

    public Task DeleteWarmAsync(WarpCacheWarm warm, CancellationToken cancellationToken) =>
        IgnoreNotFound(() => client.CustomObjects.DeleteNamespacedCustomObjectAsync(WarpDriveApi.Group, WarpDriveApi.Version,
            warm.Metadata.NamespaceProperty, WarmPlural, warm.Metadata.Name, cancellationToken: cancellationToken));

    public async Task<V1Secret?> GetSecretAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<string>> PodsUsingClaimAsync(string ns, string claimName, CancellationToken cancellationToken)
    {
        var pods = await client.CoreV1.ListNamespacedPodAsync(ns, cancellationToken: cancellationToken).ConfigureAwait(false);
        return pods.Items
            .Where(p => p.Status?.Phase is not ("Succeeded" or "Failed"))
            .Where(p => p.Spec?.Volumes?.Any(v => v.PersistentVolumeClaim?.ClaimName == claimName) == true)
            .Select(p => p.Metadata.Name)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    public async Task<IReadOnlySet<string>> NodesWithReadyAgentAsync(CancellationToken cancellationToken)
    {
        var pods = await client.CoreV1.ListNamespacedPodAsync(options.Namespace,
            labelSelector: "app.kubernetes.io/name=warpdrive,app.kubernetes.io/component=node", cancellationToken: cancellationToken).ConfigureAwait(false);
        return pods.Items
            .Where(p => p.Spec?.NodeName is not null && p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true)
            .Select(p => p.Spec.NodeName)
            .ToHashSet(StringComparer.Ordinal);
    }

    private static V1Patch Apply(object body) => new(KubernetesJson.Serialize(body), V1Patch.PatchType.ApplyPatch);

    private static async Task IgnoreNotFound(Func<Task> delete)
    {
        try
        {
            await delete().ConfigureAwait(false);
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }
}
