namespace WarpDrive.Csi;

/// <summary>
/// Every mount the plugin makes or removes goes through here, so the CSI logic can run against the real kernel
/// (<c>KernelMounter</c> in the node host) or against a recording double in isolation.
/// </summary>
public interface IMounter
{
    /// <summary>
    /// Serves one data source as a FUSE tree at the request's mount point (an existing directory). Disposing
    /// the result unmounts it and releases what it holds (but not the node's shared block cache).
    /// </summary>
    Task<IAsyncDisposable> MountSourceAsync(SourceMountRequest request, CancellationToken cancellationToken);

    /// <summary>Bind-mounts <paramref name="source"/> onto <paramref name="target"/> (an existing directory), read-only.</summary>
    void BindMountReadOnly(string source, string target);

    /// <summary>Unmounts <paramref name="target"/>; a path that is not a mount point is not an error.</summary>
    void Unmount(string target);

    /// <summary>True when <paramref name="path"/> is itself a mount point (of any file system type).</summary>
    bool IsMountPoint(string path);
}

/// <summary>
/// What to mount for one source: its backend settings, where, and an optional kernel readahead. A source that reads
/// with a pod's identity (<c>auth.source: pod</c>) gets one tree per pod: <paramref name="PodUid"/> names the pod and
/// <see cref="Credentials"/> its first grant (null for a tree re-served after a restart: kubelet's republish brings it).
/// </summary>
public sealed record SourceMountRequest(Config.BackendConfig Backend, string MountPoint, long? ReadaheadBytes, string? PodUid = null)
{
    public PodCredentials? Credentials { get; init; }
}

/// <summary>A tree that reads with a pod's identity: takes each newer token the pod's republishes bring.</summary>
public interface IPodIdentityTree
{
    /// <summary>Hands over the pod's current credentials; throws <see cref="Config.ConfigException"/> when they make no identity.</summary>
    void Grant(PodCredentials credentials);
}
