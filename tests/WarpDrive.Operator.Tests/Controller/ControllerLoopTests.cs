using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using WarpDrive.Operator.Controller;

namespace WarpDrive.Operator.Tests.Controller;

/// <summary>Leader election with the Lease abstracted: only the leader's loop reconciles.</summary>
public sealed class ControllerLoopTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Nothing_is_reconciled_until_leadership_is_granted_and_nothing_after_it_is_lost()
    {
        var election = new LeaderElectionTestDouble();
        var reconciler = new RecordingReconciler();
        var keys = new[] { WorkKey.Source("team-a", "one"), WorkKey.Source("team-a", "two") };
        var loop = NewLoop(election, reconciler, () => keys, new FakeTimeProvider());
        using var stop = new CancellationTokenSource();
        var running = loop.RunAsync(stop.Token);

        await election.Started.WaitAsync(Patience);
        loop.Notify(WorkKey.Source("team-a", "early"));
        Assert.That(loop.IsLeading, Is.False);
        Assert.That(reconciler.Seen, Is.Empty, "a follower does not reconcile");

        election.Grant();
        await Eventually(() => reconciler.Seen.Count == 2);
        Assert.That(reconciler.Seen, Is.EquivalentTo(keys), "becoming leader reconciles every known object");

        loop.Notify(WorkKey.Warm("team-a", "w"));
        await Eventually(() => reconciler.Seen.Contains(WorkKey.Warm("team-a", "w")));

        reconciler.Block = true;
        loop.Notify(WorkKey.Source("team-a", "slow"));
        await Eventually(() => reconciler.InFlight is not null);
        election.Revoke();
        await Eventually(() => reconciler.CancelledInFlight);
        await Eventually(() => !loop.IsLeading);

        var before = reconciler.Seen.Count;
        loop.Notify(WorkKey.Source("team-a", "late"));
        await Task.Delay(100);
        Assert.That(reconciler.Seen.Count, Is.EqualTo(before), "after losing the lease nothing runs");

        await stop.CancelAsync();
        await running.WaitAsync(Patience);
    }

    [Test]
    public async Task A_failing_reconcile_is_retried_with_backoff_and_a_resync_requeues_everything()
    {
        var election = new LeaderElectionTestDouble();
        var time = new FakeTimeProvider();
        var reconciler = new RecordingReconciler { FailuresLeft = 2 };
        var key = WorkKey.Source("team-a", "flaky");
        var loop = NewLoop(election, reconciler, () => [key], time);
        var retries = new ConcurrentQueue<TimeSpan>();
        loop.Retrying += (_, delay) => retries.Enqueue(delay);
        using var stop = new CancellationTokenSource();
        var running = loop.RunAsync(stop.Token);
        election.Grant();

        await Eventually(() => retries.Count == 1);
        Assert.That(reconciler.Seen.Count, Is.EqualTo(1), "not retried before its backoff");
        time.Advance(TimeSpan.FromMilliseconds(500));
        await Eventually(() => retries.Count == 2);
        Assert.That(reconciler.Seen.Count, Is.EqualTo(2));
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.That(reconciler.Seen.Count, Is.EqualTo(2), "second failure waits twice as long");
        time.Advance(TimeSpan.FromMilliseconds(500));
        await Eventually(() => reconciler.Seen.Count == 3);
        Assert.That(retries, Is.EqualTo(new[] { TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1) }));

        time.Advance(TimeSpan.FromMinutes(10));
        await Eventually(() => reconciler.Seen.Count == 4);

        await stop.CancelAsync();
        await running.WaitAsync(Patience);
    }

    private static ControllerLoop NewLoop(ILeaderElection election, IReconciler reconciler, Func<IEnumerable<WorkKey>> keys, TimeProvider time) =>
        new(election, Enum.GetValues<WorkKind>().ToDictionary(k => k, _ => reconciler), keys, time, NullLogger.Instance)
        {
            Workers = 2,
            Resync = TimeSpan.FromMinutes(10),
            BaseBackoff = TimeSpan.FromMilliseconds(500),
        };

    private static async Task Eventually(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("condition not reached");
            }

            await Task.Delay(10);
        }
    }

    /// <summary>Stands in for the Lease-based elector (no API server here): the test grants and revokes leadership.</summary>
    private sealed class LeaderElectionTestDouble : ILeaderElection
    {
        private readonly TaskCompletionSource started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource granted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private CancellationTokenSource? term;

        public Task Started => started.Task;

        public void Grant() => granted.TrySetResult();

        public void Revoke() => term?.Cancel();

        public async Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken stop)
        {
            started.TrySetResult();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await granted.Task.WaitAsync(stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                granted = new(TaskCreationOptions.RunContinuationsAsynchronously);
                term = CancellationTokenSource.CreateLinkedTokenSource(stop);
                await lead(term.Token);
            }
        }
    }

    private sealed class RecordingReconciler : IReconciler
    {
        public ConcurrentBag<WorkKey> Seen { get; } = [];

        public int FailuresLeft { get; set; }

        public bool Block { get; set; }

        public WorkKey? InFlight { get; private set; }

        public bool CancelledInFlight { get; private set; }

        public async Task<ReconcileResult> ReconcileAsync(WorkKey key, CancellationToken cancellationToken)
        {
            Seen.Add(key);
            if (FailuresLeft > 0)
            {
                FailuresLeft--;
                throw new InvalidOperationException("API server said no");
            }

            if (Block)
            {
                InFlight = key;
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    CancelledInFlight = true;
                    throw;
                }
            }

            return ReconcileResult.Done;
        }
    }
}
