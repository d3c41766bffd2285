using System.Collections.Concurrent;

namespace WarpDrive.FileSystem;

/// <summary>Open handles by the ids handed to the kernel. Ids start at 1 and are never reused within a process.</summary>
internal sealed class HandleTable<T>
    where T : class
{
    private readonly ConcurrentDictionary<ulong, T> _handles = new();
    private long _next;

    public int Count => _handles.Count;

    public ulong Add(T value)
    {
        var id = (ulong)Interlocked.Increment(ref _next);
        _handles[id] = value;
        return id;
    }

    /// <summary>Makes the next id at least <paramref name="first"/>: a new process must not reuse ids the kernel still holds.</summary>
    public void StartAt(ulong first) => Interlocked.Exchange(ref _next, (long)first - 1);

    /// <summary>Registers a value under an id handed out by a previous process (restored or recreated after a take-over).</summary>
    public bool TryPut(ulong id, T value) => _handles.TryAdd(id, value);

    public IEnumerable<KeyValuePair<ulong, T>> Pairs => _handles;

    public bool TryGet(ulong id, out T value) => _handles.TryGetValue(id, out value!);

    public bool TryRemove(ulong id, out T value) => _handles.TryRemove(id, out value!);

    public ICollection<T> Values => _handles.Values;
}
