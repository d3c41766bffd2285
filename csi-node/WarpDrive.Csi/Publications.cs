namespace WarpDrive.Csi;

/// <summary>
/// One published volume: which volume is bind-mounted at which target, from which source (and the readahead its
/// publish asked for, to mount the source again the same way after a restart), for which pod.
/// </summary>
public sealed record Publication(string VolumeId, string Source, string TargetPath, string BindSource, PodInfo? Pod = null, long? ReadaheadBytes = null);

/// <summary>A pod as kubelet describes it in NodePublishVolume's volume_context (podInfoOnMount).</summary>
public sealed record PodInfo(string Uid, string Namespace, string Name, string ServiceAccount);

/// <summary>
/// The plugin's record of what it published, by target path: in memory, and (with a <see cref="PublicationStore"/>)
/// in the state directory too, so a restarted plugin re-learns what it published (<see cref="PublicationRecovery"/>).
/// The store is written outside the lock: a target is only ever changed by one call at a time (VolumeLocks).
/// </summary>
public sealed class Publications(PublicationStore? store = null)
{
    private readonly Dictionary<string, Publication> _byTarget = new(StringComparer.Ordinal);

    public Publication? Find(string targetPath)
    {
        lock (_byTarget)
        {
            return _byTarget.GetValueOrDefault(targetPath);
        }
    }

    public void Add(Publication publication)
    {
        ArgumentNullException.ThrowIfNull(publication);
        store?.Save(publication);
        lock (_byTarget)
        {
            _byTarget[publication.TargetPath] = publication;
        }
    }

    public void Remove(string targetPath)
    {
        lock (_byTarget)
        {
            _byTarget.Remove(targetPath);
        }

        store?.Delete(targetPath);
    }

    /// <summary>
    /// The pod with this UID, if any of its volumes is published here. Access telemetry finds a caller's pod UID in
    /// its cgroup and asks here, so a pod's reads are accounted to its namespace and service account with no API call.
    /// </summary>
    public PodInfo? FindPod(string podUid)
    {
        lock (_byTarget)
        {
            foreach (var publication in _byTarget.Values)
            {
                if (publication.Pod?.Uid == podUid)
                {
                    return publication.Pod;
                }
            }
        }

        return null;
    }

    public IReadOnlyList<Publication> All()
    {
        lock (_byTarget)
        {
            return [.. _byTarget.Values];
        }
    }
}
