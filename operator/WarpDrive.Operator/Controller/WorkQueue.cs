namespace WarpDrive.Operator.Controller;

/// <summary>
/// The controller's work queue, with the semantics of client-go's rate-limited queue:
/// <list type="bullet">
/// <item>A key is queued at most once: adding a key that is already waiting does nothing (bursts of watch events
/// for one object become one reconcile).</item>
/// <item>A key is handed to at most one worker at a time: adding it while it is being processed marks it dirty, and
/// <see cref="Done"/> queues it again, so the worker always sees the latest state.</item>
/// <item><see cref="AddRateLimited"/> re-adds a failing key after an exponentially growing delay per key
/// (<c>baseDelay · 2^(failures-1)</c>, capped at <c>maxDelay</c>); <see cref="Forget"/> resets it after a success.</item>
/// </list>
/// All state is guarded by one lock that is never held across an await; delays run on a <see cref="TimeProvider"/>
/// timer so tests move time by hand.
/// </summary>
public sealed class WorkQueue<TKey> : IDisposable
    where TKey : notnull
{
    private readonly Lock gate = new();
    private readonly Queue<TKey> ready = new();
    private readonly HashSet<TKey> dirty = [];
    private readonly HashSet<TKey> processing = [];
    private readonly Dictionary<TKey, int> failures = [];
    private readonly HashSet<ITimer> timers = [];
    private readonly SemaphoreSlim available = new(0);
    private readonly TimeProvider time;
    private readonly TimeSpan baseDelay;
    private readonly TimeSpan maxDelay;
    private bool shutDown;

    public WorkQueue(TimeProvider time, TimeSpan baseDelay, TimeSpan maxDelay)
    {
        this.time = time;
        this.baseDelay = baseDelay;
        this.maxDelay = maxDelay;
    }

    /// <summary>Keys waiting to be taken (not counting those being processed or waiting for a delay).</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return ready.Count;
            }
        }
    }

    public void Add(TKey key)
    {
        lock (gate)
        {
            if (shutDown || !dirty.Add(key))
            {
                return;
            }

            if (processing.Contains(key))
            {
                // Queued again by Done, so one worker at a time sees the key.
                return;
            }

            ready.Enqueue(key);
        }

        available.Release();
    }

    /// <summary>Adds the key once <paramref name="delay"/> has passed (at once when it is not positive).</summary>
    public void AddAfter(TKey key, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            Add(key);
            return;
        }

        lock (gate)
        {
            if (shutDown)
            {
                return;
            }

            ITimer? timer = null;
            timer = time.CreateTimer(
                _ =>
                {
                    lock (gate)
                    {
                        // The callback can run before the assignment below on a fast timer; the set tolerates that.
                        timers.Remove(timer!);
                    }

                    timer?.Dispose();
                    Add(key);
                },
                null, delay, Timeout.InfiniteTimeSpan);
            timers.Add(timer);
        }
    }

    /// <summary>Re-adds a key whose reconcile failed, after its next backoff delay.</summary>
    public TimeSpan AddRateLimited(TKey key)
    {
        TimeSpan delay;
        lock (gate)
        {
            var count = failures.GetValueOrDefault(key) + 1;
            failures[key] = count;
            delay = Backoff(count);
        }

        AddAfter(key, delay);
        return delay;
    }

    /// <summary>How many times in a row the key has failed.</summary>
    public int Failures(TKey key)
    {
        lock (gate)
        {
            return failures.GetValueOrDefault(key);
        }
    }

    /// <summary>Clears the key's failure count: its next failure waits <c>baseDelay</c> again.</summary>
    public void Forget(TKey key)
    {
        lock (gate)
        {
            failures.Remove(key);
        }
    }

    /// <summary>Waits for a key and marks it as being processed. Call <see cref="Done"/> when finished with it.</summary>
    public async Task<TKey> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            await available.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (gate)
            {
                ObjectDisposedException.ThrowIf(shutDown, this);
                if (ready.Count == 0)
                {
                    continue;
                }

                var key = ready.Dequeue();
                dirty.Remove(key);
                processing.Add(key);
                return key;
            }
        }
    }

    public void Done(TKey key)
    {
        bool requeue;
        lock (gate)
        {
            processing.Remove(key);
            requeue = dirty.Contains(key) && !shutDown;
            if (requeue)
            {
                ready.Enqueue(key);
            }
        }

        if (requeue)
        {
            available.Release();
        }
    }

    public void Dispose()
    {
        lock (gate)
        {
            shutDown = true;
            foreach (var timer in timers)
            {
                timer.Dispose();
            }

            timers.Clear();
        }

        available.Release(int.MaxValue / 2);
    }

    private TimeSpan Backoff(int failureCount)
    {
        // 2^30 · base overflows nothing that matters: cap the exponent before multiplying.
        var exponent = Math.Min(failureCount - 1, 30);
        var ticks = baseDelay.Ticks * Math.Pow(2, exponent);
        return ticks >= maxDelay.Ticks ? maxDelay : TimeSpan.FromTicks((long)ticks);
    }
}
