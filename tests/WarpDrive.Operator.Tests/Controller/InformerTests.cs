using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Operator.Kube;

namespace WarpDrive.Operator.Tests.Controller;

public sealed class InformerTests
{
    [Test]
    public async Task Lists_then_follows_the_watch_and_relists_after_410_gone()
    {
        var source = new ListWatchTestDouble();
        source.Objects["a"] = Node("a", "1");
        source.Objects["b"] = Node("b", "2");
        source.ListVersion = "2";
        var informer = new Informer<V1Node>("nodes", source, NullLogger.Instance) { MinBackoff = TimeSpan.FromMilliseconds(1) };
        var changed = new List<string>();
        informer.Changed += n => { lock (changed) { changed.Add(n.Metadata.Name); } };
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);

        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(informer.List().Select(n => n.Metadata.Name), Is.EquivalentTo(new[] { "a", "b" }));
        var watch = await source.NextWatch.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(watch.FromVersion, Is.EqualTo("2"), "watch starts at the list's resourceVersion");

        await watch.Events.Writer.WriteAsync((WatchEventType.Added, Node("c", "3")));
        await watch.Events.Writer.WriteAsync((WatchEventType.Deleted, Node("a", "4")));
        await Until(() => informer.Get(null, "c") is not null && informer.Get(null, "a") is null);

        // While the watch was down, b was deleted and d created; the server then says 410 Gone.
        source.Objects.Clear();
        source.Objects["c"] = Node("c", "3");
        source.Objects["d"] = Node("d", "9");
        source.ListVersion = "9";
        source.NextWatch = new();
        watch.Gone();

        var second = await source.NextWatch.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(second.FromVersion, Is.EqualTo("9"));
        Assert.That(source.Lists, Is.EqualTo(2));
        Assert.That(informer.List().Select(n => n.Metadata.Name), Is.EquivalentTo(new[] { "c", "d" }));
        lock (changed)
        {
            Assert.That(changed, Is.EqualTo(new[] { "a", "b", "c", "a", "d", "b" }), "missed deletion of b reported after the re-list");
        }

        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task A_failing_list_is_retried()
    {
        var source = new ListWatchTestDouble { ListFailures = 2 };
        source.Objects["a"] = Node("a", "1");
        var informer = new Informer<V1Node>("nodes", source, NullLogger.Instance) { MinBackoff = TimeSpan.FromMilliseconds(1) };
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);

        await informer.Synced.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.That(source.Lists, Is.EqualTo(3));
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static V1Node Node(string name, string version) => new() { Metadata = new() { Name = name, ResourceVersion = version } };

    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "condition not reached");
            await Task.Delay(5);
        }
    }

    /// <summary>Stands in for the API server's list and watch (none can run here); the test drives each watch.</summary>
    private sealed class ListWatchTestDouble : IListWatch<V1Node>
    {
        public Dictionary<string, V1Node> Objects { get; } = [];

        public string ListVersion { get; set; } = "1";

        public int ListFailures { get; set; }

        public int Lists { get; private set; }

        public TaskCompletionSource<OpenWatch> NextWatch { get; set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<(IList<V1Node> Items, string ResourceVersion)> ListAsync(CancellationToken cancellationToken)
        {
            Lists++;
            if (ListFailures-- > 0)
            {
                throw new HttpRequestException("connection refused");
            }

            return Task.FromResult<(IList<V1Node>, string)>((Objects.Values.ToList(), ListVersion));
        }

        public async IAsyncEnumerable<(WatchEventType Type, V1Node Object)> WatchAsync(string resourceVersion, Action<Exception> onError,
            [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var watch = new OpenWatch(resourceVersion, onError);
            NextWatch.TrySetResult(watch);
            await foreach (var item in watch.Events.Reader.ReadAllAsync(cancellationToken))
            {
                yield return item;
            }
        }
    }

    private sealed class OpenWatch(string fromVersion, Action<Exception> onError)
    {
        public string FromVersion { get; } = fromVersion;

        public Channel<(WatchEventType, V1Node)> Events { get; } = Channel.CreateUnbounded<(WatchEventType, V1Node)>();

        /// <summary>What the server sends when the watch's resourceVersion is too old: an ERROR event, then it closes.</summary>
        public void Gone()
        {
            onError(new KubernetesException(new V1Status { Code = (int)HttpStatusCode.Gone, Reason = "Expired" }));
            Events.Writer.Complete();
        }
    }
}
