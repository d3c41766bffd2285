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

    public bool TryGet(ulong id, out T value) => _handles.TryGetValue(id, out value!);

    public bool TryRemove(ulong id, out T value) => _handles.TryRemove(id, out value!);

    public ICollection<T> Values => _handles.Values;
}
