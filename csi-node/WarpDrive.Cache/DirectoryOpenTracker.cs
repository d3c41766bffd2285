namespace WarpDrive.Cache;

/// <summary>
/// Notices files of one directory being opened in ascending name order (training shards read one after another).
/// Bounded: when it tracks too many directories it forgets them all, which only costs a missed prefetch.
/// </summary>
internal sealed class DirectoryOpenTracker
{
    private const int MaxDirectories = 1024;

    private readonly Lock _gate = new();
    private readonly Dictionary<(string Backend, string Directory), string> _lastOpened = [];

    /// <summary>Records an open; true when it continues an ascending run (the previous open was an earlier name).</summary>
    public bool OnOpen(string backend, string path)
    {
        var key = (backend, Backends.BackendPath.Parent(path));
        var name = path[(path.LastIndexOf('/') + 1)..];
        lock (_gate)
        {
            if (_lastOpened.Count >= MaxDirectories && !_lastOpened.ContainsKey(key))
            {
                _lastOpened.Clear();
            }

            var ascending = _lastOpened.TryGetValue(key, out var previous) && string.CompareOrdinal(previous, name) < 0;
            _lastOpened[key] = name;
            return ascending;
        }
    }
}
