using Microsoft.Extensions.Time.Testing;
using WarpDrive.Operator.Controller;

namespace WarpDrive.Operator.Tests.Controller;

public sealed class WorkQueueTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(1);
    private readonly FakeTimeProvider time = new();

    [Test]
    public async Task A_key_added_many_times_while_waiting_is_handed_out_once()
    {
        using var queue = new WorkQueue<string>(time, Base, TimeSpan.FromMinutes(1));
        queue.Add("a");
        queue.Add("b");
        queue.Add("a");
        queue.Add("a");

        Assert.That(queue.Count, Is.EqualTo(2));
        Assert.That(await queue.TakeAsync(CancellationToken.None), Is.EqualTo("a"));
        Assert.That(await queue.TakeAsync(CancellationToken.None), Is.EqualTo("b"));
        Assert.That(queue.Count, Is.Zero);
    }

    [Test]
    public async Task A_key_added_while_processing_waits_for_done_then_comes_back_once()
    {
        using var queue = new WorkQueue<string>(time, Base, TimeSpan.FromMinutes(1));
        queue.Add("a");
        var key = await queue.TakeAsync(CancellationToken.None);
        queue.Add("a");
        queue.Add("a");

        Assert.That(queue.Count, Is.Zero, "never handed to a second worker while the first holds it");
        queue.Done(key);
        Assert.That(queue.Count, Is.EqualTo(1));
        Assert.That(await queue.TakeAsync(CancellationToken.None), Is.EqualTo("a"));
        queue.Done("a");
        Assert.That(queue.Count, Is.Zero);
    }

    [Test]
    public void Failures_back_off_exponentially_per_key_up_to_the_cap_and_forget_resets()
    {
        using var queue = new WorkQueue<string>(time, Base, TimeSpan.FromSeconds(5));
        var delays = Enumerable.Range(0, 5).Select(_ => queue.AddRateLimited("a")).ToList();
        Assert.That(delays, Is.EqualTo(new[] { 1, 2, 4, 5, 5 }.Select(s => TimeSpan.FromSeconds(s))));
        Assert.That(queue.AddRateLimited("b"), Is.EqualTo(Base), "backoff is per key");

        queue.Forget("a");
        Assert.That(queue.AddRateLimited("a"), Is.EqualTo(Base));
    }

    [Test]
    public async Task A_rate_limited_key_comes_back_only_after_its_delay()
    {
        using var queue = new WorkQueue<string>(time, Base, TimeSpan.FromMinutes(1));
        queue.AddRateLimited("a");
        queue.AddRateLimited("a"); // second failure: 2 s, and still one key

        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.That(queue.Count, Is.EqualTo(0));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(queue.Count, Is.EqualTo(1), "the first timer fired");
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(queue.Count, Is.EqualTo(1), "the second timer found the key already queued");
        Assert.That(await queue.TakeAsync(CancellationToken.None), Is.EqualTo("a"));
    }

    [Test]
    public void Take_waits_until_a_key_arrives_and_honours_cancellation()
    {
        using var queue = new WorkQueue<string>(time, Base, TimeSpan.FromMinutes(1));
        using var cancel = new CancellationTokenSource();
        var take = queue.TakeAsync(cancel.Token);
        Assert.That(take.IsCompleted, Is.False);
        cancel.Cancel();
        Assert.That(async () => await take, Throws.InstanceOf<OperationCanceledException>());
    }
}
