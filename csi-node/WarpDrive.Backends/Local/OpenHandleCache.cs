using Microsoft.Win32.SafeHandles;

namespace WarpDrive.Backends.Local;

/// <summary>
/// A bounded LRU of open read handles keyed by backend path, so hot files are not opened and closed per read.
/// </summary>
/// <remarks>
/// The lock guards only the dictionary and the LRU list; it is never held across a syscall. A handle handed
/// out by <see cref="TryRent"/> carries a SafeHandle reference (DangerousAddRef) that the caller gives back
/// with <see cref="Return"/>, so evicting and disposing a handle while another thread reads from it only
/// defers the close until that read finishes.
/// </remarks>
internal sealed class OpenHandleCache : IDisposable
{
    private sealed class Node(string path, SafeFileHandle handle, UnixFileStatus identity)
    {
        public string Path { get; } = path;
        public SafeFileHandle Handle { get; } = handle;
        public UnixFileStatus Identity { get; } = identity;
        public LinkedListNode<Node>? LruNode { get; set; }
    }

    private readonly int _capacity;
    private readonly Dictionary<string, Node> _byPath = new(StringComparer.Ordinal);
    private readonly LinkedList<Node> _lru = new();
    private readonly Lock _lock = new();
    private bool _disposed;

    public OpenHandleCache(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byPath.Count;
            }
        }
    }

    /// <summary>
    /// Returns a referenced handle for <paramref name="path"/> if one is cached for the same file identity;
    /// a cached handle for a different identity (the file was replaced) is evicted.
    /// </summary>
    public SafeFileHandle? TryRent(string path, in UnixFileStatus currentIdentity)
    {
        SafeFileHandle? stale = null;
        try
        {
            lock (_lock)
            {
                if (!_byPath.TryGetValue(path, out var node))
                {
                    return null;
                }
                if (!node.Identity.IsSameFileAs(currentIdentity))
                {
                    RemoveLocked(node);
                    stale = node.Handle;
                    return null;
                }
                _lru.Remove(node.LruNode!);
                _lru.AddFirst(node.LruNode!);
                var added = false;
                node.Handle.DangerousAddRef(ref added);
                return node.Handle;
            }
        }
        finally
        {
            stale?.Dispose();
        }
    }

    /// <summary>
    /// Caches a freshly opened handle and returns a referenced handle to read from: the given one, or the one
    /// another thread cached first for the same file (then the given one is closed).
    /// </summary>
    public SafeFileHandle AddAndRent(string path, SafeFileHandle handle, in UnixFileStatus identity)
    {
        var toClose = new List<SafeFileHandle>(2);
        try
        {
            lock (_lock)
            {
                if (_disposed)
                {
                    throw new ObjectDisposedException(nameof(OpenHandleCache));
                }
                if (_byPath.TryGetValue(path, out var existing))
                {
                    if (existing.Identity.IsSameFileAs(identity))
                    {
                        toClose.Add(handle);
                        var addedExisting = false;
                        existing.Handle.DangerousAddRef(ref addedExisting);
                        return existing.Handle;
                    }
                    RemoveLocked(existing);
                    toClose.Add(existing.Handle);
                }
                var node = new Node(path, handle, identity);
                node.LruNode = _lru.AddFirst(node);
                _byPath.Add(path, node);
                while (_byPath.Count > _capacity)
                {
                    var oldest = _lru.Last!.Value;
                    RemoveLocked(oldest);
                    toClose.Add(oldest.Handle);
                }
                var added = false;
                handle.DangerousAddRef(ref added);
                return handle;
            }
        }
        finally
        {
            foreach (var h in toClose)
            {
                h.Dispose();
            }
        }
    }

    /// <summary>Gives back the reference taken by <see cref="TryRent"/> or <see cref="AddAndRent"/>.</summary>
    public static void Return(SafeFileHandle handle) => handle.DangerousRelease();

    /// <summary>Drops the cached handle for a path (after a write or delete through this backend).</summary>
    public void Invalidate(string path)
    {
        SafeFileHandle? stale = null;
        lock (_lock)
        {
            if (_byPath.TryGetValue(path, out var node))
            {
                RemoveLocked(node);
                stale = node.Handle;
            }
        }
        stale?.Dispose();
    }

    public void Dispose()
    {
        List<SafeFileHandle> all;
        lock (_lock)
        {
            _disposed = true;
            all = [.. _byPath.Values.Select(n => n.Handle)];
            _byPath.Clear();
            _lru.Clear();
        }
        foreach (var h in all)
        {
            h.Dispose();
        }
    }

    private void RemoveLocked(Node node)
    {
        _byPath.Remove(node.Path);
        _lru.Remove(node.LruNode!);
    }
}
