namespace WarpDrive.Csi;

/// <summary>One published volume: which volume is bind-mounted at which target, from which source.</summary>
public sealed record Publication(string VolumeId, string Source, string TargetPath, string BindSource);

/// <summary>
/// The plugin's record of what it published, by target path. In memory only: after a plugin restart the
/// source FUSE mounts are gone anyway (their server was this process), so kubelet's unpublish of an old target
/// is answered from the kernel's mount table instead (see the README).
/// </summary>
public sealed class Publications
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
    }

    public IReadOnlyList<Publication> All()
    {
        lock (_byTarget)
        {
            return [.. _byTarget.Values];
        }
    }
}
