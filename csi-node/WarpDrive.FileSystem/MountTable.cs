namespace WarpDrive.FileSystem;

/// <summary>Where a virtual path leads: the backend serving it (longest mount prefix) and the path inside it.</summary>
internal readonly record struct Resolution(BackendMount? Mount, string RelativePath, bool IsVirtualDirectory);

/// <summary>
/// The namespace skeleton: which backend serves which virtual path, and the directories that exist only
/// because a backend is mounted below them. Immutable after construction, so lookups need no lock.
/// </summary>
internal sealed class MountTable
{
    public const string Root = "/";

    // Longest mount path first, so the first prefix match is the longest.
    private readonly (string Path, string PathWithSlash, BackendMount Mount)[] _mounts;

    // Every virtual directory (the root, every ancestor of a mount, every mount root) → the names of the
    // virtual directories directly inside it. These names shadow a backend's own entries.
    private readonly Dictionary<string, string[]> _virtualChildren = new(StringComparer.Ordinal);

    public MountTable(IReadOnlyList<BackendMount> mounts)
    {
        var normalised = new List<(string, string, BackendMount)>();
        var children = new Dictionary<string, SortedSet<string>>(StringComparer.Ordinal) { [Root] = new(StringComparer.Ordinal) };
        foreach (var mount in mounts)
        {
            var path = Normalise(mount.MountPath);
            if (normalised.Exists(m => m.Item1 == path))
            {
                throw new ArgumentException($"Mount path {path} is used twice.", nameof(mounts));
            }

            normalised.Add((path, path + "/", mount with { MountPath = path }));
            children.TryAdd(path, new SortedSet<string>(StringComparer.Ordinal));
            var child = path;
            while (child != Root)
            {
                var parent = ParentOf(child);
                if (!children.TryGetValue(parent, out var set))
                {
                    children[parent] = set = new SortedSet<string>(StringComparer.Ordinal);
                }

                set.Add(NameOf(child));
                child = parent;
            }
        }

        _mounts = [.. normalised.OrderByDescending(m => m.Item1.Length)];
        foreach (var (dir, names) in children)
        {
            _virtualChildren[dir] = [.. names];
        }
    }

    public IEnumerable<BackendMount> Mounts => _mounts.Select(m => m.Mount);

    public Resolution Resolve(string virtualPath)
    {
        var isVirtual = _virtualChildren.ContainsKey(virtualPath);
        foreach (var (path, withSlash, mount) in _mounts)
        {
            if (virtualPath == path)
            {
                return new Resolution(mount, "", isVirtual);
            }

            if (virtualPath.StartsWith(withSlash, StringComparison.Ordinal))
            {
                return new Resolution(mount, virtualPath[withSlash.Length..], isVirtual);
            }
        }

        return new Resolution(null, "", isVirtual);
    }

    /// <summary>Names of the virtual directories directly inside <paramref name="virtualPath"/> (empty for most paths).</summary>
    public IReadOnlyList<string> VirtualChildren(string virtualPath) =>
        _virtualChildren.TryGetValue(virtualPath, out var names) ? names : [];

    public static string Join(string parent, string name) => parent == Root ? Root + name : parent + "/" + name;

    public static string ParentOf(string virtualPath)
    {
        var slash = virtualPath.LastIndexOf('/');
        return slash <= 0 ? Root : virtualPath[..slash];
    }

    public static string NameOf(string virtualPath) => virtualPath[(virtualPath.LastIndexOf('/') + 1)..];

    private static string Normalise(string mountPath)
    {
        var path = mountPath.TrimEnd('/');
        if (!path.StartsWith('/') || path.Length < 2 || path.Contains("//", StringComparison.Ordinal)
            || path.Split('/').Skip(1).Any(s => s is "." or ".." || s.Length == 0))
        {
            throw new ArgumentException($"Mount path '{mountPath}' must be absolute, below '/', with no empty, '.' or '..' segments.", nameof(mountPath));
        }

        return path;
    }
}
