using System.Collections.Concurrent;

namespace WarpDrive.Backends;

/// <summary>
/// The configured backends by name. Thread-safe; the registry owns what it holds: a backend removed or
/// replaced is disposed, and disposing the registry disposes every backend.
/// </summary>
public sealed class BackendRegistry : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, IBackend> _byName = new(StringComparer.Ordinal);

    /// <summary>Adds a backend; false (and nothing changes) when the name is taken.</summary>
    public bool Add(IBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return _byName.TryAdd(backend.Name, backend);
    }

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IBackend? backend) =>
        _byName.TryGetValue(name, out backend);

    /// <summary>Removes and disposes a backend; false when no backend has that name.</summary>
    public async ValueTask<bool> RemoveAsync(string name)
    {
        if (!_byName.TryRemove(name, out var backend))
        {
            return false;
        }
        await backend.DisposeAsync().ConfigureAwait(false);
        return true;
    }

    /// <summary>A snapshot of the registered backends.</summary>
    public IReadOnlyList<IBackend> All => [.. _byName.Values];

    public async ValueTask DisposeAsync()
    {
        foreach (var name in _byName.Keys)
        {
            await RemoveAsync(name).ConfigureAwait(false);
        }
    }
}
