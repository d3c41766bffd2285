using System.Collections.Concurrent;

namespace WarpDrive.Csi;

/// <summary>
/// Per-volume try-locks. kubelet retries a call that is still running; the spec wants the retry answered ABORTED
/// rather than queued, so a second caller never waits.
/// </summary>
public sealed class VolumeLocks
{
    private readonly ConcurrentDictionary<string, byte> _held = new(StringComparer.Ordinal);

    /// <summary>Takes the lock for <paramref name="volumeId"/>, or returns null when it is already held.</summary>
    public IDisposable? TryAcquire(string volumeId) =>
        _held.TryAdd(volumeId, 0) ? new Release(this, volumeId) : null;

    private sealed class Release(VolumeLocks owner, string volumeId) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                owner._held.TryRemove(volumeId, out _);
            }
        }
    }
}
