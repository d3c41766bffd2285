using System.Collections.Concurrent;

namespace WarpDrive.FileSystem;

/// <summary>
/// Collapses concurrent calls with the same key into one: the first caller starts the work, later callers
/// await the same task. The shared work runs without any one caller's token, so one interrupted caller does
/// not fail the others; each caller stops waiting on its own token.
/// </summary>
internal sealed class Singleflight<TKey, TValue>
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Lazy<Task<TValue>>> _inFlight = new();

    public int InFlight => _inFlight.Count;

    public Task<TValue> RunAsync(TKey key, Func<TKey, Task<TValue>> work, CancellationToken cancellationToken)
    {
        var call = _inFlight.GetOrAdd(key, (k, w) => new Lazy<Task<TValue>>(() => RunThenLeaveAsync(k, w)), work);
        return call.Value.WaitAsync(cancellationToken);
    }

    private async Task<TValue> RunThenLeaveAsync(TKey key, Func<TKey, Task<TValue>> work)
    {
        try
        {
            return await work(key).ConfigureAwait(false);
        }
        finally
        {
            // Runs before the shared task completes, while ours is still the only entry for the key, so
            // callers arriving after this line start a fresh call instead of reusing a finished one.
            _inFlight.TryRemove(key, out _);
        }
    }
}
