using k8s;
using k8s.Models;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Controller;

/// <summary>
/// What the reconcilers read: the informers' watch caches (in production) or an in-memory cluster (in tests).
/// Reads never go to the API server, so a reconcile storm costs no requests. Objects handed out are shared with the
/// cache: callers must not mutate them.
/// </summary>
public interface IClusterCache
{
    IReadOnlyList<WarpDataSource> Sources();

    WarpDataSource? Source(string ns, string name);

    IReadOnlyList<WarpCacheWarm> Warms();

    WarpCacheWarm? Warm(string ns, string name);

    IReadOnlyList<V1Node> Nodes();

    /// <summary>A ConfigMap in the operator's namespace.</summary>
    V1ConfigMap? OwnConfigMap(string name);

    /// <summary>A Secret in the operator's namespace.</summary>
    V1Secret? OwnSecret(string name);

    /// <summary>A Service in the operator's namespace (only the control plane's is cached, and only while it is enabled).</summary>
    V1Service? OwnService(string name);
}

/// <summary>
/// Every write, and the few reads that are not cached (tenants' Secrets, pods using a claim, agent pods).
/// Applies are server-side apply with field manager <see cref="WarpDriveApi.FieldManager"/>; deletes of objects
/// that are already gone succeed.
/// </summary>
public interface IClusterClient
{
    Task ApplyConfigMapAsync(V1ConfigMap configMap, CancellationToken cancellationToken);

    Task ApplySecretAsync(V1Secret secret, CancellationToken cancellationToken);

    Task ApplyPersistentVolumeAsync(V1PersistentVolume volume, CancellationToken cancellationToken);

    Task ApplyClaimAsync(V1PersistentVolumeClaim claim, CancellationToken cancellationToken);

    Task DeletePersistentVolumeAsync(string name, CancellationToken cancellationToken);

    Task DeleteClaimAsync(string ns, string name, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the source's finalizers, guarded by its resourceVersion (JSON patch with a test), so a list changed
    /// by someone else in the meantime is a conflict and not silently overwritten.
    /// </summary>
    Task SetFinalizersAsync(WarpDataSource source, IList<string> finalizers, CancellationToken cancellationToken);

    /// <summary>Applies the fields of the status the operator owns; <c>status.nodes</c> belongs to the agents.</summary>
    Task ApplySourceStatusAsync(WarpDataSource source, WarpDataSourceStatus status, CancellationToken cancellationToken);

    /// <summary>Applies the operator's fields of a warm job's status; <c>status.nodes</c> belongs to the agents.</summary>
    Task ApplyWarmStatusAsync(WarpCacheWarm warm, WarpCacheWarmStatus status, CancellationToken cancellationToken);

    Task DeleteWarmAsync(WarpCacheWarm warm, CancellationToken cancellationToken);

    /// <summary>A Secret in a tenant's namespace, or null when it does not exist.</summary>
    Task<V1Secret?> GetSecretAsync(string ns, string name, CancellationToken cancellationToken);

    /// <summary>Names of the pods in <paramref name="ns"/> that mount the claim and have not terminated.</summary>
    Task<IReadOnlyList<string>> PodsUsingClaimAsync(string ns, string claimName, CancellationToken cancellationToken);

    /// <summary>Nodes on which a node agent pod is Ready.</summary>
    Task<IReadOnlySet<string>> NodesWithReadyAgentAsync(CancellationToken cancellationToken);
}

/// <summary>Kubernetes Events: what users must see in <c>kubectl describe</c>. Notes never hold a secret.</summary>
public interface IEventRecorder
{
    void Normal(IKubernetesObject<V1ObjectMeta> regarding, string reason, string note);

    void Warning(IKubernetesObject<V1ObjectMeta> regarding, string reason, string note);
}
