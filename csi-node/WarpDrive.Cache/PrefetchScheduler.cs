using Microsoft.Extensions.Logging;
using WarpDrive.Backends;

namespace WarpDrive.Cache;

internal enum PrefetchPriority
{
    /// <summary>The next blocks of a file being read sequentially.</summary>
    InFile,

    /// <summary>The first blocks of the next files of a directory read in name order.</summary>
    Directory,
}

internal readonly record struct PrefetchRequest(IBackend Backend, CachedObject Object, long Index, int Length);

/// <summary>
/// Runs speculative fetches: two FIFO queues, in-file requests always before directory-level ones, and at most
/// <c>maxBytesInFlight</c> of speculative data being fetched at once (one request may always run, so a block larger
/// than the budget still makes progress). Queues are bounded; the oldest request is dropped first because the
/// reader has most likely moved past it. <see cref="_gate"/> guards the queues and the byte count only.
/// </summary>
internal sealed class PrefetchScheduler(long maxBytesInFlight, Func<PrefetchRequest, Task> fetch, ILogger logger)
{
    private const int MaxQueued = 4096;

    private readonly Lock _gate = new();
    private readonly Queue<PrefetchRequest> _inFile = new();
    private readonly Queue<PrefetchRequest> _directory = new();
    private long _bytesInFlight;
    private int _running;
    private bool _stopped;

    /// <summary>True when nothing is queued or running.</summary>
    public bool IsIdle
    {
        get
        {
            lock (_gate)
            {
                return _running == 0 && _inFile.Count == 0 && _directory.Count == 0;
            }
        }
    }

    public void Enqueue(PrefetchRequest request, PrefetchPriority priority)
    {
        lock (_gate)
        {
            if (_stopped || maxBytesInFlight == 0)
            {
                return;
            }

            var queue = priority == PrefetchPriority.InFile ? _inFile : _directory;
            if (queue.Count >= MaxQueued)
            {
                queue.Dequeue();
            }

            queue.Enqueue(request);
        }

        Pump();
    }

    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
            _inFile.Clear();
            _directory.Clear();
        }
    }

    private void Pump()
    {
        while (true)
        {
            PrefetchRequest next;
            lock (_gate)
            {
                var queue = _inFile.Count > 0 ? _inFile : _directory;
                if (_stopped || queue.Count == 0)
                {
                    return;
                }

                next = queue.Peek();
                if (_bytesInFlight > 0 && _bytesInFlight + next.Length > maxBytesInFlight)
                {
                    return;
                }

                queue.Dequeue();
                _bytesInFlight += next.Length;
                _running++;
            }

            Task running;
            try
            {
                running = fetch(next);
            }
            catch (Exception ex)
            {
                running = Task.FromException(ex);
            }

            if (running.IsCompleted)
            {
                // Nothing to wait for (already cached or joined a finished fetch): keep looping here rather than
                // recursing through a continuation.
                Finish(next, running);
                continue;
            }

            _ = AwaitAsync(next, running);
        }
    }

    private async Task AwaitAsync(PrefetchRequest request, Task running)
    {
        try
        {
            await running;
        }
        catch (Exception)
        {
            // Observed and logged in Finish.
        }

        Finish(request, running);
        Pump();
    }

    private void Finish(PrefetchRequest request, Task completed)
    {
        if (completed.Exception is { } ex && ex.InnerException is not OperationCanceledException)
        {
            logger.LogDebug(ex.InnerException, "Prefetch of block {Index} of {Backend}:{Path} failed", request.Index, request.Object.Backend, request.Object.Path);
        }

        lock (_gate)
        {
            _bytesInFlight -= request.Length;
            _running--;
        }
    }
}
