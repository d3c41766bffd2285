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

            _ = RunAsync(next);
        }
    }

    private async Task RunAsync(PrefetchRequest request)
    {
        // Off the caller's thread: the demand read that scheduled this must not wait for it, and a
        // chain of synchronously completing requests must not grow the stack.
        await Task.Yield();
        try
        {
            await fetch(request);
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Prefetch of block {Index} of {Backend}:{Path} failed", request.Index, request.Object.Backend, request.Object.Path);
        }
        finally
        {
            lock (_gate)
            {
                _bytesInFlight -= request.Length;
                _running--;
            }

            Pump();
        }
    }
}
