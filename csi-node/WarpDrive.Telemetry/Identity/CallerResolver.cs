using System.Collections.Concurrent;

namespace WarpDrive.Telemetry.Identity;

/// <summary>
/// Resolves a caller from <c>/proc/&lt;pid&gt;/cgroup</c>: a process in a Kubernetes pod becomes the pod's service
/// account (<c>system:serviceaccount:&lt;ns&gt;:&lt;sa&gt;</c>) with its namespace and name; anything else (or a pod the
/// resolver does not know, or a pid that already exited) is the local user of its uid. Pod identities are cached by
/// pod UID, which never changes meaning, unlike a pid.
/// </summary>
public sealed class CallerResolver(PasswdUserNames users, IPodResolver? pods = null, string procRoot = "/proc") : ICallerResolver
{
    private readonly ConcurrentDictionary<string, PodIdentity> _podCache = new(StringComparer.Ordinal);

    public async ValueTask<CallerIdentity> ResolveAsync(int pid, uint uid, CancellationToken cancellationToken)
    {
        if (pods is not null && pid > 0 && ReadPodUid(pid) is { } podUid)
        {
            if (!_podCache.TryGetValue(podUid, out var pod) && await pods.ResolveAsync(podUid, cancellationToken) is { } resolved)
            {
                pod = _podCache.GetOrAdd(podUid, resolved);
            }

            if (pod is not null)
            {
                return new CallerIdentity($"system:serviceaccount:{pod.Namespace}:{pod.ServiceAccount}", pod.Namespace, pod.Name, pod.ServiceAccount);
            }
        }

        return new CallerIdentity(users.NameOf(uid));
    }

    private string? ReadPodUid(int pid)
    {
        try
        {
            return CgroupPodUid.Parse(File.ReadAllText(Path.Combine(procRoot, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "cgroup")));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // the process exited before the pump got to its event
        }
    }
}
