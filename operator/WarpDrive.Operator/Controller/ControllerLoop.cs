using Microsoft.Extensions.Logging;

namespace WarpDrive.Operator.Controller;

/// <summary>
/// The reconcile loop: while this replica leads, workers take keys from a fresh <see cref="WorkQueue{TKey}"/> and hand
/// them to the reconciler of their kind. Watch events feed the queue through <see cref="Notify"/>; they are dropped
/// while not leading, because becoming leader enqueues every known object anyway (and so does each resync).
/// <para>
/// Threading: <see cref="Notify"/> is called from informer threads; the queue is the only shared state. Workers
/// never run two reconciles of one key at once (the queue's contract) and stop at once when the leadership token
/// is cancelled; a reconcile in flight sees the cancellation through its token.
/// </para>
/// </summary>
public sealed class ControllerLoop(
    ILeaderElection election,
    IReadOnlyDictionary<WorkKind, IReconciler> reconcilers,
    Func<IEnumerable<WorkKey>> allKeys,
    TimeProvider time,
    ILogger logger)
{
    private volatile WorkQueue<WorkKey>? queue;

    public int Workers { get; init; } = 2;

    public TimeSpan Resync { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan BaseBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A reconcile failed and its key was re-queued after this delay (raised after the re-queue).</summary>
    public event Action<WorkKey, TimeSpan>? Retrying;

    /// <summary>True while this replica leads and reconciles.</summary>
    public bool IsLeading => queue is not null;

    /// <summary>Something changed: queue the key if this replica is leading.</summary>
    public void Notify(WorkKey key) => queue?.Add(key);

    public Task RunAsync(CancellationToken stop) => election.RunAsync(LeadAsync, stop);

    private async Task LeadAsync(CancellationToken leading)
    {
        using var work = new WorkQueue<WorkKey>(time, BaseBackoff, MaxBackoff);
        queue = work;
        try
        {
            EnqueueAll(work);
            var tasks = Enumerable.Range(0, Workers).Select(_ => WorkAsync(work, leading)).Append(ResyncAsync(work, leading)).ToList();
            await Task.WhenAll(tasks).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            queue = null;
        }
    }

    private void EnqueueAll(WorkQueue<WorkKey> work)
    {
        foreach (var key in allKeys())
        {
            work.Add(key);
        }
    }

    private async Task ResyncAsync(WorkQueue<WorkKey> work, CancellationToken leading)
    {
        using var timer = new PeriodicTimer(Resync, time);
        while (await timer.WaitForNextTickAsync(leading).ConfigureAwait(false))
        {
            EnqueueAll(work);
        }
    }

    private async Task WorkAsync(WorkQueue<WorkKey> work, CancellationToken leading)
    {
        while (!leading.IsCancellationRequested)
        {
            var key = await work.TakeAsync(leading).ConfigureAwait(false);
            try
            {
                var result = await reconcilers[key.Kind].ReconcileAsync(key, leading).ConfigureAwait(false);
                work.Forget(key);
                if (result.RequeueAfter is { } delay)
                {
                    work.AddAfter(key, delay);
                }
            }
            catch (OperationCanceledException) when (leading.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                var delay = work.AddRateLimited(key);
                // Messages of API errors name objects and fields, never secret values.
                logger.LogWarning("{Key}: {Error} (retry {Attempt} in {Delay})", key, error.Message, work.Failures(key), delay);
                Retrying?.Invoke(key, delay);
            }
            finally
            {
                work.Done(key);
            }
        }
    }
}
