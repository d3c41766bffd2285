using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Tests.Controller;

public sealed class WarmReconcilerTests
{
    private static WarpCacheWarm Warm(string name, int? ttl = null) => new()
    {
        Metadata = new() { Name = name, NamespaceProperty = "team-a" },
        Spec = new() { Source = "imagenet", Paths = ["train"], TtlSecondsAfterFinished = ttl },
    };

    private static ReconcilerHarness TwoNodes()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.Add(Fixtures.Node("gpu-2"));
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));
        return h;
    }

    [Test]
    public async Task A_new_job_is_pending_then_aggregates_agent_entries_to_succeeded()
    {
        var h = TwoNodes();
        h.Cluster.Add(Warm("w"));

        await h.ReconcileWarm("team-a", "w");
        Assert.That(h.Cluster.Warm("team-a", "w")!.Status!.Phase, Is.EqualTo(WarmPhases.Pending));
        Assert.That(h.Cluster.Warm("team-a", "w")!.Status!.StartTime, Is.Null);

        h.Cluster.ReportWarmNode("team-a", "w", new() { Node = "gpu-1", Phase = WarmPhases.Running, FilesDone = 3, FilesTotal = 10 });
        await h.ReconcileWarm("team-a", "w");
        var running = h.Cluster.Warm("team-a", "w")!.Status!;
        Assert.That((running.Phase, running.Progress), Is.EqualTo((WarmPhases.Running, "3/10")));
        Assert.That(running.StartTime, Is.EqualTo(h.Time.GetUtcNow().UtcDateTime));

        h.Time.Advance(TimeSpan.FromMinutes(5));
        h.Cluster.ReportWarmNode("team-a", "w", new() { Node = "gpu-1", Phase = WarmPhases.Succeeded, FilesDone = 10, FilesTotal = 10 });
        h.Cluster.ReportWarmNode("team-a", "w", new() { Node = "gpu-2", Phase = WarmPhases.Succeeded, FilesDone = 10, FilesTotal = 10 });
        var result = await h.ReconcileWarm("team-a", "w");

        var done = h.Cluster.Warm("team-a", "w")!.Status!;
        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(ReconcileResult.Done), "no TTL: kept");
            Assert.That((done.Phase, done.Progress), Is.EqualTo((WarmPhases.Succeeded, "20/20")));
            Assert.That(done.Totals!.NodesSucceeded, Is.EqualTo(2));
            Assert.That(done.StartTime, Is.EqualTo(running.StartTime), "start time kept");
            Assert.That(done.CompletionTime, Is.EqualTo(h.Time.GetUtcNow().UtcDateTime));
            Assert.That(Conditions.IsTrue(done.Conditions, WarmReconciler.CompleteCondition), Is.True);
            Assert.That(done.Nodes, Has.Count.EqualTo(2), "agents' entries untouched");
            Assert.That(h.Events.Reasons("Normal").Last(), Is.EqualTo("Succeeded"));
        });
    }

    [Test]
    public async Task A_failed_node_fails_the_job_with_its_reason()
    {
        var h = TwoNodes();
        h.Cluster.Add(Warm("w"));
        h.Cluster.ReportWarmNode("team-a", "w", new() { Node = "gpu-2", Phase = WarmPhases.Failed, Error = "backend refused: 403" });

        await h.ReconcileWarm("team-a", "w");

        var status = h.Cluster.Warm("team-a", "w")!.Status!;
        Assert.That(status.Phase, Is.EqualTo(WarmPhases.Failed));
        Assert.That(Conditions.Find(status.Conditions, WarmReconciler.FailedCondition)!.Message, Does.Contain("gpu-2").And.Contain("403"));
        Assert.That(h.Events.Reasons("Warning"), Is.EqualTo(new[] { "Failed" }));
    }

    [Test]
    public async Task A_finished_job_is_deleted_after_its_ttl_and_not_before()
    {
        var h = TwoNodes();
        h.Cluster.Add(Warm("w", ttl: 60));
        foreach (var node in new[] { "gpu-1", "gpu-2" })
        {
            h.Cluster.ReportWarmNode("team-a", "w", new() { Node = node, Phase = WarmPhases.Succeeded, FilesDone = 1, FilesTotal = 1 });
        }

        var first = await h.ReconcileWarm("team-a", "w");
        Assert.That(first.RequeueAfter, Is.EqualTo(TimeSpan.FromSeconds(60)));

        h.Time.Advance(TimeSpan.FromSeconds(45));
        var second = await h.ReconcileWarm("team-a", "w");
        Assert.That(second.RequeueAfter, Is.EqualTo(TimeSpan.FromSeconds(15)));
        Assert.That(h.Cluster.Warm("team-a", "w"), Is.Not.Null);

        h.Time.Advance(TimeSpan.FromSeconds(15));
        await h.ReconcileWarm("team-a", "w");
        Assert.That(h.Cluster.Warm("team-a", "w"), Is.Null);
    }

    [Test]
    public async Task A_job_whose_source_is_missing_stays_pending_and_says_why()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.Add(Warm("w"));

        await h.ReconcileWarm("team-a", "w");

        var status = h.Cluster.Warm("team-a", "w")!.Status!;
        Assert.That(status.Phase, Is.EqualTo(WarmPhases.Pending));
        Assert.That(Conditions.Find(status.Conditions, "SourceFound")!.Reason, Is.EqualTo("SourceNotFound"));
    }
}
