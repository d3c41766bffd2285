using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Tests;

public sealed class WarmAggregationTests
{
    private static WarmNodeStatus Node(string name, string phase, long done = 0, long total = 0, long bytes = 0, double rate = 0) => new()
    {
        Node = name,
        Phase = phase,
        FilesDone = done,
        FilesTotal = total,
        BytesDone = bytes,
        MbPerSecond = rate,
    };

    [TestCase(new string[0], 2, "Pending")]
    [TestCase(new[] { "Pending" }, 2, "Pending")]
    [TestCase(new[] { "Running", "Pending" }, 2, "Running")]
    [TestCase(new[] { "Succeeded" }, 2, "Running")]
    [TestCase(new[] { "Succeeded", "Succeeded" }, 2, "Succeeded")]
    [TestCase(new[] { "Succeeded", "Failed" }, 2, "Failed")]
    [TestCase(new[] { "Running", "Failed" }, 2, "Failed")]
    [TestCase(new[] { "Succeeded", "Running" }, 2, "Running")]
    [TestCase(new string[0], 0, "Pending")]
    public void Phase_follows_the_nodes(string[] phases, int expected, string phase)
    {
        var nodes = phases.Select((p, i) => Node($"n{i}", p)).ToList();
        Assert.That(WarmStatusAggregator.Aggregate(nodes, expected).Phase, Is.EqualTo(phase));
    }

    [Test]
    public void Totals_and_progress_sum_every_node()
    {
        var nodes = new[]
        {
            Node("a", WarmPhases.Succeeded, done: 100, total: 100, bytes: 1000, rate: 0),
            Node("b", WarmPhases.Running, done: 40, total: 120, bytes: 400, rate: 250.5),
            Node("c", WarmPhases.Running, done: 2, total: 80, bytes: 20, rate: 100),
        };

        var aggregate = WarmStatusAggregator.Aggregate(nodes, expectedNodes: 4);

        Assert.Multiple(() =>
        {
            Assert.That(aggregate.Phase, Is.EqualTo("Running"));
            Assert.That(aggregate.Progress, Is.EqualTo("142/300"));
            Assert.That(aggregate.Totals.BytesDone, Is.EqualTo(1420));
            Assert.That(aggregate.Totals.MbPerSecond, Is.EqualTo(350.5));
            Assert.That((aggregate.Totals.NodesSucceeded, aggregate.Totals.NodesRunning, aggregate.Totals.NodesFailed, aggregate.Totals.NodesPending),
                Is.EqualTo((1, 2, 0, 1)));
        });
    }

    [Test]
    public void Finished_means_succeeded_or_failed()
    {
        Assert.Multiple(() =>
        {
            Assert.That(WarmStatusAggregator.IsFinished("Succeeded"), Is.True);
            Assert.That(WarmStatusAggregator.IsFinished("Failed"), Is.True);
            Assert.That(WarmStatusAggregator.IsFinished("Running"), Is.False);
            Assert.That(WarmStatusAggregator.IsFinished(null), Is.False);
        });
    }
}
