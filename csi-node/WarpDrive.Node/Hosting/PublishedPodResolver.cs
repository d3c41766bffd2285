using WarpDrive.Csi;
using WarpDrive.Telemetry.Identity;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// Access telemetry's pod lookup in CSI mode: a caller reading one of our volumes is in a pod we published that
/// volume for, and kubelet told us that pod's namespace, name and service account then (podInfoOnMount). So the
/// answer comes from the plugin's own publications, with no kubelet or API server call and no extra RBAC.
/// </summary>
public sealed class PublishedPodResolver(Publications publications) : IPodResolver
{
    public ValueTask<PodIdentity?> ResolveAsync(string podUid, CancellationToken cancellationToken) =>
        ValueTask.FromResult(publications.FindPod(podUid) is { } pod ? new PodIdentity(pod.Namespace, pod.Name, pod.ServiceAccount) : null);
}
