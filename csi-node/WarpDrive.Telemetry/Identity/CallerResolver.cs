using System.Collections.Concurrent;

namespace WarpDrive.Telemetry.Identity;

/// <summary>
/// Resolves a caller from <c>/proc/&lt;pid&gt;/cgroup</c>: a process in a Kubernetes pod becomes the pod's service
/// account (<c>system:serviceaccount:&lt;ns&gt;:&lt;sa&gt;</c>) with its namespace and name; anything else (or a pod the
/// resolver does not know, or a pid that exited before it was observed) is the local user of its uid. Pod
/// identities are cached by pod UID, which never changes meaning. A pid's pod UID is cached for
/// <see cref="PidTtl"/> from when <see cref="Observe"/> read it: a pid reused by another pod within that time would be
/// misattributed, which the short TTL makes rare and which costs an accounting line, never data.
/// </summary>
public sealed class CallerResolver(PasswdUserNames users, IPodResolver? pods = null, string procRoot = "/proc", TimeProvider? time = null) : ICallerResolver
{
    public static readonly TimeSpan PidTtl = TimeSpan.FromSeconds(30);

    /// <summary>Past this many cached pids the cache starts over (a node runs far fewer readers than this).</summary>
    private const int MaxPids = 8192;

    private readonly ConcurrentDictionary<string, PodIdentity> _podCache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, (string? PodUid, long ReadAt)> _pidCache = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public void Observe(int pid)
    {
        if (pods is null || pid <= 0)
        {
            return; // outside Kubernetes the uid, which the event carries, is all there is to know
        }

        if (!_pidCache.TryGetValue(pid, out var cached) || _time.GetElapsedTime(cached.ReadAt) > PidTtl)
        {
            if (_pidCache.Count >= MaxPids)
            {
                _pidCache.Clear();
            }

            _pidCache[pid] = (ReadPodUid(pid), _time.GetTimestamp());
        }
    }

    public async ValueTask<CallerIdentity> ResolveAsync(int pid, uint uid, CancellationToken cancellationToken)
    {
        if (pods is not null && pid > 0 && PodUidOf(pid) is { } podUid)
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

    private string? PodUidOf(int pid) =>
        _pidCache.TryGetValue(pid, out var cached) && _time.GetElapsedTime(cached.ReadAt) <= PidTtl ? cached.PodUid : ReadPodUid(pid);

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
