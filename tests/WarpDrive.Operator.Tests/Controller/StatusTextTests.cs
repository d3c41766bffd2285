using System.Text.RegularExpressions;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Tests.Controller;

/// <summary>
/// Issue 16: what users read in conditions and events is a sentence, never an exception's type name or a stack
/// trace, also when the text comes from a node agent or from the agent's validator.
/// </summary>
public sealed partial class StatusTextTests
{
    private const string AgentError = "System.IO.IOException: No space left on device : '/var/lib/warpdrive/cache/blocks'\n"
        + "   at WarpDrive.Cache.BlockCache.WriteBlockAsync(Int64 block)\n"
        + "   at WarpDrive.Cache.BlockCache.WarmAsync(IBackend backend)";

    [TestCase("System.Net.Http.HttpRequestException: Connection refused (127.0.0.1:1)", "Connection refused (127.0.0.1:1)")]
    [TestCase("read 'a' failed: TimeoutRejectedException", "read 'a' failed")]
    [TestCase("warming failed ---> System.IO.IOException: disk full", "warming failed disk full")]
    [TestCase("   at X.Y()\nsecond line", "second line")]
    [TestCase("NullReferenceException", "fallback")]
    [TestCase("", "fallback")]
    [TestCase("the backend did not answer within 30 s", "the backend did not answer within 30 s")]
    public void Relayed_text_keeps_the_sentence_and_drops_the_diagnostics(string text, string expected) =>
        Assert.That(StatusText.Sentence(text, "fallback"), Is.EqualTo(expected));

    [Test]
    public void Relayed_text_is_bounded() =>
        Assert.That(StatusText.Sentence(new string('a', 5000), "fallback"), Has.Length.EqualTo(StatusText.MaxLength));

    [Test]
    public async Task No_condition_or_event_carries_exception_text_in_any_failure_the_operator_reports()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.ReadyAgents.Add("gpu-1");
        // A missing Secret, a source the agent's validator refuses, a node relaying exception text, a failed warm.
        h.Cluster.Add(Fixtures.Source("team-a", "keys", BackendTypes.S3, new() { ["bucket"] = "b", ["region"] = "us-east-1" },
            new AuthSpec { Method = AuthMethods.Static, SecretRef = new() { Name = "missing" } }));
        h.Cluster.Add(Fixtures.Source("team-a", "no-root", BackendTypes.Local, []));
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));
        h.Cluster.ReportSourceNode("team-a", "imagenet", new SourceNodeStatus
        {
            Node = "gpu-1", Reachable = false, Reason = "BackendError", Message = AgentError,
        });
        h.Cluster.Add(new WarpCacheWarm
        {
            Metadata = new() { Name = "w", NamespaceProperty = "team-a" },
            Spec = new() { Source = "imagenet", Paths = ["train"] },
        });
        h.Cluster.ReportWarmNode("team-a", "w", new() { Node = "gpu-1", Phase = WarmPhases.Failed, Error = AgentError });

        foreach (var name in new[] { "keys", "no-root", "imagenet" })
        {
            await h.ReconcileSource("team-a", name);
        }

        await h.ReconcileWarm("team-a", "w");

        var messages = h.Cluster.Sources().SelectMany(s => s.Status!.Conditions!).Select(c => c.Message)
            .Concat(h.Cluster.Warm("team-a", "w")!.Status!.Conditions!.Select(c => c.Message))
            .Concat(h.Events.Events.Select(e => e.Note))
            .ToList();
        var rejected = Conditions.Find(h.Cluster.Source("team-a", "no-root")!.Status!.Conditions, SourceConditions.Ready)!;
        var unreachable = Conditions.Find(h.Cluster.Source("team-a", "imagenet")!.Status!.Conditions, SourceConditions.BackendReachable)!;
        var failed = Conditions.Find(h.Cluster.Warm("team-a", "w")!.Status!.Conditions, WarmReconciler.FailedCondition)!;
        Assert.Multiple(() =>
        {
            Assert.That(messages, Has.Count.GreaterThan(10));
            Assert.That(messages.Where(m => Diagnostic().IsMatch(m)), Is.Empty, "no exception type, stack frame or second line");
            Assert.That(rejected.Message, Does.StartWith("spec.backend.config.root: "), "names the WarpDataSource field to fix");
            Assert.That(unreachable.Message, Does.Contain("node gpu-1: No space left on device"));
            Assert.That(failed.Message, Does.Contain("node gpu-1 failed: No space left on device"));
            Assert.That(h.Events.Events.Where(e => e.Type == "Warning").Select(e => e.Reason),
                Is.EquivalentTo(new[] { "SecretNotFound", "Rejected", "BackendUnreachable", "Failed" }));
        });
    }

    [GeneratedRegex(@"Exception|\n|\s+at \S+\(|--->")]
    private static partial Regex Diagnostic();
}
