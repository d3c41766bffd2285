namespace WarpDrive.Telemetry.Identity;

/// <summary>Who a pod is, as the control plane accounts for it.</summary>
public sealed record PodIdentity(string Namespace, string Name, string ServiceAccount);

/// <summary>
/// Maps a pod UID to its namespace, name and service account. The production lookup (kubelet or API server) is a
/// later piece; it runs on the telemetry pump, never on the FUSE path, and should cache.
/// </summary>
public interface IPodResolver
{
    ValueTask<PodIdentity?> ResolveAsync(string podUid, CancellationToken cancellationToken);
}

/// <summary>Who made a request: the user name for accounting, and the pod when the caller runs in one.</summary>
public sealed record CallerIdentity(string User, string? Namespace = null, string? Pod = null, string? ServiceAccount = null);

/// <summary>Turns a FUSE caller (pid, uid) into a <see cref="CallerIdentity"/>.</summary>
public interface ICallerResolver
{
    /// <summary>
    /// Called on the FUSE path when an event is recorded, while the caller surely still runs: notes what must be read
    /// from the process now (its cgroup), because by the time the pump resolves the event a short-lived reader may
    /// have exited. Must be cheap: a cache hit, or one procfs read.
    /// </summary>
    void Observe(int pid);

    ValueTask<CallerIdentity> ResolveAsync(int pid, uint uid, CancellationToken cancellationToken);
}
