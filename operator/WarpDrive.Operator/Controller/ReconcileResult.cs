namespace WarpDrive.Operator.Controller;

/// <summary>
/// What a reconciler decided: the object is in the desired state (<see cref="Done"/>), or it must be looked at
/// again after a delay (waiting for pods to let go of a claim, a warm job's TTL). Failures are exceptions: the
/// worker re-queues those with per-key exponential backoff.
/// </summary>
public readonly record struct ReconcileResult(TimeSpan? RequeueAfter)
{
    public static ReconcileResult Done { get; } = new(null);

    public static ReconcileResult After(TimeSpan delay) => new(delay);
}

/// <summary>What the queue holds: one kind of work and the object it is about.</summary>
public enum WorkKind
{
    /// <summary>A WarpDataSource: finalizer, PV/PVC, status; on deletion the cleanup.</summary>
    Source,

    /// <summary>A WarpCacheWarm: phase, totals, TTL deletion.</summary>
    Warm,

    /// <summary>Every node's ConfigMap at once (any source or node change can change any node's view).</summary>
    NodeConfigs,

    /// <summary>The one credentials Secret.</summary>
    Credentials,
}

/// <summary>A work queue key. <see cref="NodeConfigs"/> and <see cref="Credentials"/> are singletons.</summary>
public readonly record struct WorkKey(WorkKind Kind, string Namespace, string Name)
{
    public static WorkKey NodeConfigs { get; } = new(WorkKind.NodeConfigs, "", "");

    public static WorkKey Credentials { get; } = new(WorkKind.Credentials, "", "");

    public static WorkKey Source(string ns, string name) => new(WorkKind.Source, ns, name);

    public static WorkKey Warm(string ns, string name) => new(WorkKind.Warm, ns, name);

    public override string ToString() => Kind switch
    {
        WorkKind.NodeConfigs or WorkKind.Credentials => Kind.ToString(),
        _ => $"{Kind} {Namespace}/{Name}",
    };
}

/// <summary>One kind of reconcile. Implementations are small, sealed and talk to the API only through interfaces.</summary>
public interface IReconciler
{
    Task<ReconcileResult> ReconcileAsync(WorkKey key, CancellationToken cancellationToken);
}
