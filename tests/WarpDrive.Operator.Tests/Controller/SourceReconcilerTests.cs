using k8s;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Tests.Controller;

public sealed class SourceReconcilerTests
{
    [Test]
    public async Task A_new_source_gets_the_finalizer_its_volume_and_claim_and_a_status()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.Add(Fixtures.Node("gpu-2"));
        h.Cluster.ReadyAgents.Add("gpu-1");
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));

        var result = await h.ReconcileSource("team-a", "imagenet");

        var source = h.Cluster.Source("team-a", "imagenet")!;
        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(ReconcileResult.Done));
            Assert.That(source.Metadata.Finalizers, Is.EqualTo(new[] { SourceReconciler.Finalizer }));
            Assert.That(h.Cluster.Volumes.Keys, Is.EqualTo(new[] { "warpdrive-team-a-imagenet" }));
            Assert.That(h.Cluster.Claims.Keys, Is.EqualTo(new[] { "team-a/imagenet" }));
            Assert.That(source.Status!.NodesTotal, Is.EqualTo(2));
            Assert.That(source.Status.NodesReady, Is.EqualTo(1));
            Assert.That(source.Status.ObservedGeneration, Is.EqualTo(1));
            var ready = Conditions.Find(source.Status.Conditions, SourceConditions.Ready)!;
            Assert.That((ready.Status, ready.Reason), Is.EqualTo(("False", "NodesNotReady")));
            Assert.That(Conditions.Find(source.Status.Conditions, SourceConditions.CredentialsValid)!.Status, Is.EqualTo("True"));
            var reachable = Conditions.Find(source.Status.Conditions, SourceConditions.BackendReachable)!;
            Assert.That((reachable.Status, reachable.Reason), Is.EqualTo(("Unknown", "NotReported")), "no agent reported yet");
            Assert.That(h.Events.Reasons("Normal"), Is.EqualTo(new[] { "Rendered" }));
        });
    }

    [Test]
    public async Task Ready_once_every_selected_node_serves_it_and_a_resync_writes_nothing()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.ReadyAgents.Add("gpu-1");
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));
        h.Cluster.ReportSourceNode("team-a", "imagenet", Reached("gpu-1"));
        await h.ReconcileSource("team-a", "imagenet");
        var transition = Conditions.Find(h.Cluster.Source("team-a", "imagenet")!.Status!.Conditions, SourceConditions.Ready)!.LastTransitionTime;
        h.Cluster.TakeWrites();

        h.Time.Advance(TimeSpan.FromMinutes(10));
        await h.ReconcileSource("team-a", "imagenet");

        var status = h.Cluster.Source("team-a", "imagenet")!.Status!;
        Assert.That(Conditions.IsTrue(status.Conditions, SourceConditions.Ready), Is.True);
        Assert.That(Conditions.Find(status.Conditions, SourceConditions.Ready)!.LastTransitionTime, Is.EqualTo(transition));
        Assert.That(h.Cluster.TakeWrites().Where(w => w.StartsWith("status", StringComparison.Ordinal)), Is.Empty);
        Assert.That(h.Events.Reasons("Normal"), Is.EqualTo(new[] { "BackendReachable", "Rendered" }), "no event for an unchanged source");
    }

    [Test]
    public async Task Serving_nodes_that_have_not_reported_leave_reachability_unknown_and_the_source_not_ready()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.ReadyAgents.Add("gpu-1");
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));

        await h.ReconcileSource("team-a", "imagenet");

        var status = h.Cluster.Source("team-a", "imagenet")!.Status!;
        var reachable = Conditions.Find(status.Conditions, SourceConditions.BackendReachable)!;
        var ready = Conditions.Find(status.Conditions, SourceConditions.Ready)!;
        Assert.Multiple(() =>
        {
            Assert.That((reachable.Status, reachable.Reason, reachable.ObservedGeneration), Is.EqualTo(("Unknown", "NotReported", (long?)1)));
            Assert.That((ready.Status, ready.Reason), Is.EqualTo(("False", "BackendNotReported")));
        });
    }

    [Test]
    public async Task A_pod_identity_source_is_ready_without_node_reports_because_each_pod_is_checked_with_its_own_identity()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.ReadyAgents.Add("gpu-1");
        h.Cluster.Add(Fixtures.Source("team-a", "shared", BackendTypes.S3, new() { ["bucket"] = "b", ["region"] = "us-east-1" },
            new AuthSpec { Method = AuthMethods.OidcFederation, Source = AuthSources.Pod }));

        await h.ReconcileSource("team-a", "shared");

        var status = h.Cluster.Source("team-a", "shared")!.Status!;
        var reachable = Conditions.Find(status.Conditions, SourceConditions.BackendReachable)!;
        var ready = Conditions.Find(status.Conditions, SourceConditions.Ready)!;
        Assert.Multiple(() =>
        {
            Assert.That((reachable.Status, reachable.Reason), Is.EqualTo(("Unknown", "PodIdentity")));
            Assert.That(reachable.Message, Does.Contain("its own service account"));
            Assert.That((ready.Status, ready.Reason), Is.EqualTo(("True", "Serving")));
            Assert.That(ready.Message, Does.Contain("served by 1 nodes").And.Contain("own identity"));
        });
    }

    [TestCase("SetupFailed")]
    [TestCase("AccessDenied")]
    public async Task A_pod_identity_source_ignores_a_nodes_own_credential_failure(string reason)
    {
        // An agent that probes with the node's identity has none for a pod identity source: its failure says nothing
        // about what the pods' own identities may read.
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.ReadyAgents.Add("gpu-1");
        h.Cluster.Add(Fixtures.Source("team-a", "shared", BackendTypes.S3, new() { ["bucket"] = "b", ["region"] = "us-east-1" },
            new AuthSpec { Method = AuthMethods.OidcFederation, Source = AuthSources.Pod }));
        h.Cluster.ReportSourceNode("team-a", "shared", new SourceNodeStatus
        {
            Node = "gpu-1", Reachable = false, Reason = reason, Message = "the node could not open the backend with the source's settings and credentials",
        });

        await h.ReconcileSource("team-a", "shared");

        var status = h.Cluster.Source("team-a", "shared")!.Status!;
        Assert.Multiple(() =>
        {
            Assert.That(Conditions.Find(status.Conditions, SourceConditions.BackendReachable)!.Reason, Is.EqualTo("PodIdentity"));
            Assert.That(Conditions.Find(status.Conditions, SourceConditions.Ready)!.Status, Is.EqualTo("True"));
            Assert.That(h.Events.Events.Where(e => e.Type == "Warning"), Is.Empty);
        });
    }

    [Test]
    public async Task A_pod_identity_source_still_waits_for_its_nodes_and_shows_a_node_reported_failure()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.Add(Fixtures.Source("team-a", "shared", BackendTypes.S3, new() { ["bucket"] = "b", ["region"] = "us-east-1" },
            new AuthSpec { Method = AuthMethods.OidcFederation, Source = AuthSources.Pod }));

        await h.ReconcileSource("team-a", "shared");
        var notReady = Conditions.Find(h.Cluster.Source("team-a", "shared")!.Status!.Conditions, SourceConditions.Ready)!;
        h.Cluster.ReadyAgents.Add("gpu-1");
        h.Cluster.ReportSourceNode("team-a", "shared", new SourceNodeStatus
        {
            Node = "gpu-1", Reachable = false, Reason = "Unreachable", Message = "the endpoint does not answer",
        });
        await h.ReconcileSource("team-a", "shared");
        var unreachable = Conditions.Find(h.Cluster.Source("team-a", "shared")!.Status!.Conditions, SourceConditions.Ready)!;

        Assert.Multiple(() =>
        {
            Assert.That((notReady.Status, notReady.Reason), Is.EqualTo(("False", "NodesNotReady")));
            Assert.That((unreachable.Status, unreachable.Reason), Is.EqualTo(("False", "BackendUnreachable")));
        });
    }

    [Test]
    public async Task A_node_that_cannot_reach_the_backend_makes_it_unreachable_naming_the_node_with_one_warning()
    {
        var h = new ReconcilerHarness();
        foreach (var node in new[] { "gpu-1", "gpu-2", "gpu-3" })
        {
            h.Cluster.Add(Fixtures.Node(node));
            h.Cluster.ReadyAgents.Add(node);
        }

        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));
        h.Cluster.ReportSourceNode("team-a", "imagenet", Reached("gpu-1"));
        h.Cluster.ReportSourceNode("team-a", "imagenet", new SourceNodeStatus
        {
            Node = "gpu-2", Reachable = false, Reason = "AccessDenied",
            Message = "the backend refused the node's credentials or lacks permission (access denied)",
        });
        h.Cluster.ReportSourceNode("team-a", "imagenet", Reached("gpu-3"));

        await h.ReconcileSource("team-a", "imagenet");
        await h.ReconcileSource("team-a", "imagenet"); // a resync: same conditions, no second warning

        var status = h.Cluster.Source("team-a", "imagenet")!.Status!;
        var reachable = Conditions.Find(status.Conditions, SourceConditions.BackendReachable)!;
        var ready = Conditions.Find(status.Conditions, SourceConditions.Ready)!;
        Assert.Multiple(() =>
        {
            Assert.That((reachable.Status, reachable.Reason), Is.EqualTo(("False", "AccessDenied")));
            Assert.That(reachable.Message, Does.Contain("node gpu-2").And.Contain("access denied").And.Contain("1 of 3 reporting nodes"));
            Assert.That(reachable.Message, Does.Not.Contain("gpu-1").And.Not.Contain("gpu-3"));
            Assert.That((ready.Status, ready.Reason), Is.EqualTo(("False", "BackendUnreachable")));
            Assert.That(status.Nodes, Has.Count.EqualTo(3), "the operator's status apply keeps the agents' entries");
            Assert.That(h.Events.Events.Where(e => e.Type == "Warning").Select(e => (e.Reason, e.Note.Contains("gpu-2", StringComparison.Ordinal))),
                Is.EqualTo(new[] { ("BackendUnreachable", true) }));
        });
    }

    [Test]
    public async Task A_node_that_recovers_turns_reachability_true_with_one_normal_event_and_a_new_transition_time()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.ReadyAgents.Add("gpu-1");
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));
        h.Cluster.ReportSourceNode("team-a", "imagenet", new SourceNodeStatus { Node = "gpu-1", Reachable = false, Reason = "Timeout", Message = "the backend did not answer within 30 s" });
        await h.ReconcileSource("team-a", "imagenet");
        var failedAt = Conditions.Find(h.Cluster.Source("team-a", "imagenet")!.Status!.Conditions, SourceConditions.BackendReachable)!.LastTransitionTime;

        h.Time.Advance(TimeSpan.FromMinutes(3));
        h.Cluster.ReportSourceNode("team-a", "imagenet", Reached("gpu-1"));
        await h.ReconcileSource("team-a", "imagenet");

        var status = h.Cluster.Source("team-a", "imagenet")!.Status!;
        var reachable = Conditions.Find(status.Conditions, SourceConditions.BackendReachable)!;
        Assert.Multiple(() =>
        {
            Assert.That((reachable.Status, reachable.Reason), Is.EqualTo(("True", "Reachable")));
            Assert.That(reachable.LastTransitionTime, Is.EqualTo(failedAt.AddMinutes(3)));
            Assert.That(Conditions.IsTrue(status.Conditions, SourceConditions.Ready), Is.True);
            Assert.That(h.Events.Reasons("Warning"), Is.EqualTo(new[] { "BackendUnreachable" }));
            Assert.That(h.Events.Reasons("Normal"), Is.EqualTo(new[] { "Rendered", "BackendReachable" }));
        });
    }

    [Test]
    public async Task Entries_of_nodes_that_no_longer_serve_the_source_are_not_counted()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1", ("pool", "gpu")));
        h.Cluster.Add(Fixtures.Node("cpu-1", ("pool", "cpu")));
        h.Cluster.ReadyAgents.Add("gpu-1");
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet", nodeSelector: new() { ["pool"] = "gpu" }));
        h.Cluster.ReportSourceNode("team-a", "imagenet", Reached("gpu-1"));
        // Left by cpu-1 when the source still selected it, or by a node since deleted.
        h.Cluster.ReportSourceNode("team-a", "imagenet", new SourceNodeStatus { Node = "cpu-1", Reachable = false, Reason = "NotFound", Message = "gone" });
        h.Cluster.ReportSourceNode("team-a", "imagenet", new SourceNodeStatus { Node = "deleted-node", Reachable = false, Reason = "Timeout", Message = "gone" });

        await h.ReconcileSource("team-a", "imagenet");

        var reachable = Conditions.Find(h.Cluster.Source("team-a", "imagenet")!.Status!.Conditions, SourceConditions.BackendReachable)!;
        Assert.That((reachable.Status, reachable.Message), Is.EqualTo(("True", "reached from 1 of 1 nodes")));
    }

    private static SourceNodeStatus Reached(string node) => new()
    {
        Node = node, Reachable = true, Reason = "Reachable", Message = "listed the backend and read from its first object",
    };

    [Test]
    public async Task A_missing_secret_makes_credentials_invalid_with_a_warning_once()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        var auth = new AuthSpec { Method = AuthMethods.Static, SecretRef = new() { Name = "s3-keys" } };
        h.Cluster.Add(Fixtures.Source("team-a", "bucket", BackendTypes.S3, new() { ["bucket"] = "b", ["region"] = "us-east-1" }, auth));

        await h.ReconcileSource("team-a", "bucket");
        await h.ReconcileSource("team-a", "bucket");

        var status = h.Cluster.Source("team-a", "bucket")!.Status!;
        var credentials = Conditions.Find(status.Conditions, SourceConditions.CredentialsValid)!;
        Assert.That((credentials.Status, credentials.Reason), Is.EqualTo(("False", "SecretNotFound")));
        Assert.That(credentials.Message, Does.Contain("s3-keys"));
        Assert.That(Conditions.Find(status.Conditions, SourceConditions.Ready)!.Status, Is.EqualTo("False"));
        Assert.That(h.Events.Reasons("Warning"), Is.EqualTo(new[] { "SecretNotFound" }));
    }

    [Test]
    public async Task Secret_values_reach_only_the_credentials_secret()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        var auth = new AuthSpec { Method = AuthMethods.Static, SecretRef = new() { Name = "s3-keys" } };
        h.Cluster.Add(Fixtures.Source("team-a", "bucket", BackendTypes.S3, new() { ["bucket"] = "b", ["region"] = "us-east-1" }, auth));
        h.Cluster.AddTenantSecret(Fixtures.Secret("team-a", "s3-keys", ("secret_access_key", "hunter2-VALUE")));

        await h.ReconcileSource("team-a", "bucket");
        await h.NodeConfigs.SyncAsync(CancellationToken.None);
        await h.Credentials.SyncAsync(CancellationToken.None);

        var everywhereElse = string.Join("\n",
            KubernetesJson.Serialize(h.Cluster.Source("team-a", "bucket")),
            string.Join("\n", h.Cluster.ConfigMaps.Values.Select(c => KubernetesJson.Serialize(c))),
            string.Join("\n", h.Events.Events.Select(e => e.Note)));
        Assert.That(everywhereElse, Does.Not.Contain("hunter2-VALUE"));
        Assert.That(everywhereElse, Does.Contain("secret_access_key_file"));
        Assert.That(System.Text.Encoding.UTF8.GetString(h.Cluster.OwnSecret("warpdrive-credentials")!.Data["secret_team-a_s3-keys_secret_access_key"]),
            Is.EqualTo("hunter2-VALUE"));
    }

    [Test]
    public async Task Deletion_waits_for_pods_using_the_claim_and_keeps_the_finalizer_until_cleanup_is_done()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));
        await h.ReconcileSource("team-a", "imagenet");
        await h.NodeConfigs.SyncAsync(CancellationToken.None);
        Assert.That(h.Cluster.ConfigMaps["warpdrive-node-gpu-1"].Data[NodeConfigMaps.ConfigKey], Does.Contain("team-a-imagenet"));
        h.Cluster.PodsByClaim[("team-a", "imagenet")] = ["trainer-0"];

        h.Cluster.MarkDeleted("team-a", "imagenet");
        var waiting = await h.ReconcileSource("team-a", "imagenet");

        Assert.Multiple(() =>
        {
            Assert.That(waiting.RequeueAfter, Is.EqualTo(SourceReconciler.PodWaitInterval));
            Assert.That(h.Cluster.ConfigMaps["warpdrive-node-gpu-1"].Data[NodeConfigMaps.ConfigKey], Does.Not.Contain("team-a-imagenet"),
                "taken off the nodes first");
            Assert.That(h.Cluster.Source("team-a", "imagenet")!.Metadata.Finalizers, Does.Contain(SourceReconciler.Finalizer));
            Assert.That(h.Cluster.Volumes, Does.ContainKey("warpdrive-team-a-imagenet"));
            Assert.That(h.Cluster.Claims, Does.ContainKey("team-a/imagenet"));
            Assert.That(h.Events.Events.Last().Note, Does.Contain("trainer-0"));
        });

        h.Cluster.PodsByClaim.Clear();
        h.Cluster.TakeWrites();
        var done = await h.ReconcileSource("team-a", "imagenet");

        Assert.That(done, Is.EqualTo(ReconcileResult.Done));
        Assert.That(h.Cluster.Source("team-a", "imagenet"), Is.Null, "the finalizer was the last one: the object is gone");
        Assert.That(h.Cluster.Volumes, Is.Empty);
        Assert.That(h.Cluster.Claims, Is.Empty);
        var writes = h.Cluster.TakeWrites();
        Assert.That(writes.Last(), Is.EqualTo("finalizers team-a/imagenet []"), "finalizer removed last");
        Assert.That(writes.IndexOf("delete pv warpdrive-team-a-imagenet"), Is.LessThan(writes.Count - 1));
        Assert.That(h.Events.Reasons("Normal").Last(), Is.EqualTo("Deleted"));
    }

    [Test]
    public async Task A_source_that_is_gone_or_not_ours_needs_nothing()
    {
        var h = new ReconcilerHarness();
        Assert.That(await h.ReconcileSource("team-a", "missing"), Is.EqualTo(ReconcileResult.Done));

        var foreign = Fixtures.Local("team-a", "foreign");
        foreign.Metadata.Finalizers = ["someone.else/keep"];
        h.Cluster.Add(foreign);
        h.Cluster.MarkDeleted("team-a", "foreign");
        Assert.That(await h.ReconcileSource("team-a", "foreign"), Is.EqualTo(ReconcileResult.Done));
        Assert.That(h.Cluster.Writes, Is.Empty);
    }

    [Test]
    public async Task A_source_rejected_by_the_agent_validator_is_not_ready_with_the_reason()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.ReadyAgents.Add("gpu-1");
        h.Cluster.Add(Fixtures.Local("team-a", "first", root: "/srv/a", created: new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc)));
        var second = Fixtures.Local("team-a", "second", root: "/srv/b", created: new DateTime(2025, 1, 2, 0, 0, 0, DateTimeKind.Utc));
        second.Spec.Backend.MountPath = "/first";
        h.Cluster.Add(second);

        await h.ReconcileSource("team-a", "second");

        var ready = Conditions.Find(h.Cluster.Source("team-a", "second")!.Status!.Conditions, SourceConditions.Ready)!;
        Assert.That((ready.Status, ready.Reason), Is.EqualTo(("False", "Rejected")));
        Assert.That(ready.Message, Does.Contain("already used by team-a/first"));
        Assert.That(h.Events.Reasons("Warning"), Is.EqualTo(new[] { "Rejected" }));
    }
}
