namespace WarpDrive.FileSystem;

/// <summary>
/// Recent directory listings by virtual path: at most <c>capacity</c> of them (least recently used are
/// evicted) and each valid for <c>ttl</c>. One lock guards the map and the recency list; the listings
/// themselves are immutable and loaded outside the lock.
/// </summary>
internal sealed class DirectoryCache(int capacity, TimeSpan ttl, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Path, DirectoryListing Listing)>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Path, DirectoryListing Listing)> _recency = new();

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _map.Count;
            }
        }
    }

    /// <summary>The listing of <paramref name="virtualPath"/> if one younger than the TTL is cached.</summary>
    public DirectoryListing? TryGetFresh(string virtualPath)
    {
        lock (_lock)
        {
            if (!_map.TryGetValue(virtualPath, out var node))
            {
                return null;
            }

            if (time.GetElapsedTime(node.Value.Listing.FetchedAt) >= ttl)
            {
                _map.Remove(virtualPath);
                _recency.Remove(node);
                return null;
            }

            _recency.Remove(node);
            _recency.AddFirst(node);
            return node.Value.Listing;
        }
    }

    /// <summary>Forgets the listing of <paramref name="virtualPath"/>, so the next lookup in it asks the backend.</summary>
    public void Remove(string virtualPath)
    {
        lock (_lock)
        {
            if (_map.Remove(virtualPath, out var node))
            {
                _recency.Remove(node);
            }
        }
    }

    /// <summary>Forgets every listing (SIGHUP: the user wants what the source holds now).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _map.Clear();
            _recency.Clear();
        }
    }

    public void Put(string virtualPath, DirectoryListing listing)
    {
        if (capacity <= 0)
        {
            return;
        }

        lock (_lock)
        {
            if (_map.Remove(virtualPath, out var old))
            {
                _recency.Remove(old);
            }

            _map[virtualPath] = _recency.AddFirst((virtualPath, listing));
            while (_map.Count > capacity)
            {
                var last = _recency.Last!;
                _recency.RemoveLast();
                _map.Remove(last.Value.Path);
            }
        }
    }
}
