using NUnit.Framework;
using WarpDrive.Node.Kubernetes;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>
/// The warm-job runner of a real plugin host, against the API test double: which jobs this node runs, what it writes
/// into its status entry, and that the block cache really holds the files afterwards.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class WarmJobRunnerTests
{
    private static readonly (string, int)[] Files = [("train/a.bin", 1_500_000), ("train/b.bin", 40_000), ("train/sub/c.txt", 1_234), ("eval/d.bin", 5_000)];

    [Test]
    public async Task AJobForThisNodesSourceWarmsEveryFileAndReportsOnlyItsOwnEntry()
    {
        await using var fixture = await WarmJobFixture.StartAsync(Files);
        fixture.Api.Add(WarmJobFixture.Namespace, "warm-train", WarmJobFixture.Source, ["train/"], new() { ["warpdrive.io/pool"] = "gpu" });

        var entry = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "warm-train", WarmJobFixture.Node);

        var sizes = fixture.SizeOf("train/a.bin") + fixture.SizeOf("train/b.bin") + fixture.SizeOf("train/sub/c.txt");
        Assert.Multiple(() =>
        {
            Assert.That(entry.Phase, Is.EqualTo(WarmNodePhases.Succeeded), entry.Error);
            Assert.That(entry.FilesDone, Is.EqualTo(3));
            Assert.That(entry.FilesTotal, Is.EqualTo(3));
            Assert.That(entry.BytesDone, Is.EqualTo(sizes));
            Assert.That(entry.Error, Is.Null);
        });
        var applies = fixture.Api.AppliesTo(WarmJobFixture.Namespace, "warm-train");
        Assert.Multiple(() =>
        {
            Assert.That(applies[0].Entries.Single().Phase, Is.EqualTo(WarmNodePhases.Running), "Running is reported before anything is fetched");
            Assert.That(applies.Select(a => a.FieldManager), Is.All.EqualTo("warpdrive-node/node-1"));
            Assert.That(applies.Select(a => a.Force), Is.All.True);
            Assert.That(applies.Select(a => a.ContentType), Is.All.StartsWith("application/apply-patch+yaml"));
            Assert.That(applies.Select(a => a.Entries.Single().Node), Is.All.EqualTo(WarmJobFixture.Node), "only this node's entry");
            Assert.That(applies.Select(a => a.Body["spec"]), Is.All.Null, "nothing but the status entry is applied");
            Assert.That(applies.Select(a => a.Body["status"]!["nodes"]![0]!.AsObject().ContainsKey("error")), Is.All.False,
                "no error field while none happened (an applied null would still claim it)");
        });

        // A second job over the same files finds them all in the cache: nothing is downloaded again.
        fixture.Api.Add(WarmJobFixture.Namespace, "warm-again", WarmJobFixture.Source, ["train"]);
        var again = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "warm-again", WarmJobFixture.Node);
        Assert.Multiple(() =>
        {
            Assert.That(again.Phase, Is.EqualTo(WarmNodePhases.Succeeded), again.Error);
            Assert.That(again.FilesDone, Is.EqualTo(3));
            Assert.That(again.BytesDone, Is.Zero);
        });
    }

    [Test]
    public async Task JobsForOtherNodesOrOtherSourcesGetNoEntry()
    {
        await using var fixture = await WarmJobFixture.StartAsync(Files);
        fixture.Api.Add(WarmJobFixture.Namespace, "other-pool", WarmJobFixture.Source, ["train"], new() { ["warpdrive.io/pool"] = "cpu" });
        fixture.Api.Add(WarmJobFixture.Namespace, "other-source", "elsewhere", ["train"]);
        fixture.Api.Add("team-b", "other-namespace", WarmJobFixture.Source, ["train"]); // backend team-b-data is not on this node

        // Jobs are taken in watch order, so once this one finished the three above were decided.
        fixture.Api.Add(WarmJobFixture.Namespace, "mine", WarmJobFixture.Source, ["eval"]);
        var mine = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "mine", WarmJobFixture.Node);

        Assert.Multiple(() =>
        {
            Assert.That(mine.Phase, Is.EqualTo(WarmNodePhases.Succeeded), mine.Error);
            Assert.That(mine.FilesDone, Is.EqualTo(1));
            Assert.That(fixture.Api.Applies.Select(a => a.Name), Is.All.EqualTo("mine"));
        });
    }

    [Test]
    public async Task APathWithNoFilesFailsTheJobWithAClearError()
    {
        await using var fixture = await WarmJobFixture.StartAsync(Files);
        fixture.Api.Add(WarmJobFixture.Namespace, "typo", WarmJobFixture.Source, ["eval", "trian"]);

        var entry = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "typo", WarmJobFixture.Node);

        Assert.Multiple(() =>
        {
            Assert.That(entry.Phase, Is.EqualTo(WarmNodePhases.Failed));
            Assert.That(entry.Error, Is.EqualTo("path \"trian\" matched no files in source data"));
            Assert.That(entry.FilesDone, Is.EqualTo(1), "the path before it was warmed");
        });
    }

    [Test]
    public async Task MaxSizeStopsTheJobAfterThatManyBytes()
    {
        await using var fixture = await WarmJobFixture.StartAsync(("big/a.bin", 3_000_000), ("big/b.bin", 3_000_000));
        fixture.Api.Add(WarmJobFixture.Namespace, "capped", WarmJobFixture.Source, ["big"], maxSize: "1Mi", workers: 1);

        var entry = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "capped", WarmJobFixture.Node);

        Assert.Multiple(() =>
        {
            Assert.That(entry.Phase, Is.EqualTo(WarmNodePhases.Succeeded), entry.Error);
            Assert.That(entry.BytesDone, Is.EqualTo(1024 * 1024), "one 1 MiB block, then the cap");
            Assert.That(entry.FilesDone, Is.Zero);
            Assert.That(entry.FilesTotal, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task DeletingARunningJobStopsItAndTheNextJobRuns()
    {
        await using var fixture = await WarmJobFixture.StartAsync(Files);
        fixture.Api.HoldApplies();
        fixture.Api.Add(WarmJobFixture.Namespace, "doomed", WarmJobFixture.Source, ["train"]);
        // The run has started: its Running entry is in flight (held by the double).
        await fixture.Api.WaitForAsync(applies => applies.Any(a => a.Name == "doomed"));

        fixture.Api.Delete(WarmJobFixture.Namespace, "doomed");
        fixture.Api.Add(WarmJobFixture.Namespace, "next", WarmJobFixture.Source, ["train"]);
        // Doomed's apply is still unanswered: only cancelling its run lets the one runner take the next job.
        await fixture.Api.WaitForAsync(applies => applies.Any(a => a.Name == "next"));
        fixture.Api.ReleaseApplies();
        var next = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "next", WarmJobFixture.Node);

        Assert.Multiple(() =>
        {
            Assert.That(fixture.Api.AppliesTo(WarmJobFixture.Namespace, "doomed").SelectMany(a => a.Entries).Select(e => e.Phase),
                Is.EqualTo(new[] { WarmNodePhases.Running }), "the deleted job never got a final entry");
            Assert.That(next.Phase, Is.EqualTo(WarmNodePhases.Succeeded), next.Error);
            Assert.That(next.BytesDone, Is.EqualTo(fixture.SizeOf("train/a.bin") + fixture.SizeOf("train/b.bin") + fixture.SizeOf("train/sub/c.txt")),
                "the stopped run fetched nothing, so the next job downloads every byte");
        });
    }

    [Test]
    public async Task OwnFinishedEntriesAreNotRunAgainButAnInterruptedRunResumes()
    {
        await using var fixture = await WarmJobFixture.StartAsync(Files);
        var node = WarmJobFixture.Node;
        fixture.Api.Add(WarmJobFixture.Namespace, "done", WarmJobFixture.Source, ["train"], entries: [new WarmNodeEntry { Node = node, Phase = WarmNodePhases.Succeeded }]);
        fixture.Api.Add(WarmJobFixture.Namespace, "failed", WarmJobFixture.Source, ["train"], entries: [new WarmNodeEntry { Node = node, Phase = WarmNodePhases.Failed, Error = "x" }]);
        fixture.Api.Add(WarmJobFixture.Namespace, "interrupted", WarmJobFixture.Source, ["train"], entries: [new WarmNodeEntry { Node = node, Phase = WarmNodePhases.Running, FilesDone = 1 }]);
        fixture.Api.Add(WarmJobFixture.Namespace, "done-elsewhere", WarmJobFixture.Source, ["eval"], entries: [new WarmNodeEntry { Node = "node-2", Phase = WarmNodePhases.Succeeded }]);

        var interrupted = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "interrupted", node);
        var elsewhere = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "done-elsewhere", node);

        Assert.Multiple(() =>
        {
            Assert.That(interrupted.Phase, Is.EqualTo(WarmNodePhases.Succeeded), interrupted.Error);
            Assert.That(interrupted.FilesDone, Is.EqualTo(3));
            Assert.That(elsewhere.Phase, Is.EqualTo(WarmNodePhases.Succeeded), "another node's entry says nothing about this node");
            Assert.That(fixture.Api.Applies.Select(a => a.Name).Distinct(), Is.EquivalentTo(new[] { "interrupted", "done-elsewhere" }));
        });
    }

    [Test]
    public async Task ABrokenWatchOrListIsRetriedAndNothingIsMissed()
    {
        await using var fixture = await WarmJobFixture.StartAsync(Files);
        await WaitUntil(() => fixture.Api.OpenWatches == 1);
        var listsBefore = fixture.Api.Lists;

        // The connection drops and the API server then fails two lists: the runner backs off and lists again.
        fixture.Api.FailNextLists(2);
        fixture.Api.DropWatches();
        fixture.Api.Add(WarmJobFixture.Namespace, "while-down", WarmJobFixture.Source, ["eval"]);
        var whileDown = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "while-down", WarmJobFixture.Node);
        Assert.That(whileDown.Phase, Is.EqualTo(WarmNodePhases.Succeeded), whileDown.Error);
        Assert.That(fixture.Api.Lists, Is.EqualTo(listsBefore + 3), "two failed lists, then one that worked");

        // The watch ends and its version is gone (410): only a new list catches up.
        await WaitUntil(() => fixture.Api.OpenWatches == 1);
        fixture.Api.ExpireVersionsAndEndWatches();
        fixture.Api.Add(WarmJobFixture.Namespace, "after-expiry", WarmJobFixture.Source, ["train"]);
        var afterExpiry = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "after-expiry", WarmJobFixture.Node);
        Assert.Multiple(() =>
        {
            Assert.That(afterExpiry.Phase, Is.EqualTo(WarmNodePhases.Succeeded), afterExpiry.Error);
            Assert.That(fixture.Api.Lists, Is.EqualTo(listsBefore + 4), "410 Gone made the runner list again");
        });
    }

    [Test]
    public async Task WithoutABlockCacheThisNodesJobsFailSayingSo()
    {
        await using var fixture = await WarmJobFixture.StartAsync(cacheEnabled: false, Files);
        fixture.Api.Add(WarmJobFixture.Namespace, "no-cache", WarmJobFixture.Source, ["train"]);

        var entry = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "no-cache", WarmJobFixture.Node);

        Assert.Multiple(() =>
        {
            Assert.That(entry.Phase, Is.EqualTo(WarmNodePhases.Failed));
            Assert.That(entry.Error, Is.EqualTo("the block cache is disabled on node node-1: there is nothing to warm into"));
        });
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.That(condition(), Is.True);
    }
}
