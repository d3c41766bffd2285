using System.Collections.Concurrent;

namespace WarpDrive.Cache;

/// <summary>Fire-and-forget work the cache still waits for on disposal.</summary>
internal sealed class BackgroundTasks
{
    private readonly ConcurrentDictionary<Task, byte> _running = new();

    public int Count => _running.Count;

    public void Track(Task task)
    {
        _running.TryAdd(task, 0);
        task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _running, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public async Task DrainAsync()
    {
        while (!_running.IsEmpty)
        {
            try
            {
                await Task.WhenAll(_running.Keys);
            }
            catch (Exception)
            {
                // Each task logs its own failure; disposal only waits.
            }
        }
    }
}
