using WarpDrive.Operator.Rendering;

namespace WarpDrive.Operator.Tests.Controller;

public sealed class NodeConfigReconcilerTests
{
    [Test]
    public async Task Applies_every_node_once_then_skips_unchanged_hashes()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1", ("pool", "gpu")));
        h.Cluster.Add(Fixtures.Node("cpu-1", ("pool", "cpu")));
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));

        var first = await h.NodeConfigs.SyncAsync(CancellationToken.None);
        var second = await h.NodeConfigs.SyncAsync(CancellationToken.None);

        Assert.That(first, Is.EquivalentTo(new[] { "warpdrive-node-gpu-1", "warpdrive-node-cpu-1" }));
        Assert.That(second, Is.Empty, "same sources, same hash: no write");
        Assert.That(h.Cluster.ConfigMaps["warpdrive-node-gpu-1"].Data[NodeConfigMaps.ConfigKey], Does.Contain("team-a-imagenet"));
    }

    [Test]
    public async Task Node_agents_send_telemetry_to_the_control_plane_service_by_cluster_ip_once_it_is_known()
    {
        var h = new ReconcilerHarness(new OperatorOptions { Namespace = "wd", ControlPlaneEnabled = true });
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));
        string Url() => WarpDrive.Config.ConfigLoader.LoadYaml(h.Cluster.ConfigMaps["warpdrive-node-gpu-1"].Data[NodeConfigMaps.ConfigKey], _ => null).Telemetry.HttpUrl;

        await h.NodeConfigs.SyncAsync(CancellationToken.None);
        var beforeTheService = Url();
        h.Cluster.AddOwnService(new k8s.Models.V1Service
        {
            Metadata = new() { Name = OperatorOptions.ControlPlaneServiceName, NamespaceProperty = "wd" },
            Spec = new() { ClusterIP = "10.96.12.34" },
        });
        var applied = await h.NodeConfigs.SyncAsync(CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(beforeTheService, Is.EqualTo("http://warpdrive-control-plane.wd.svc:8090"), "DNS name until the ClusterIP is known");
            Assert.That(applied, Is.EqualTo(new[] { "warpdrive-node-gpu-1" }));
            Assert.That(Url(), Is.EqualTo("http://10.96.12.34:8090"), "reachable without cluster DNS");
        });
    }

    [TestCase("None", "http://warpdrive-control-plane.wd.svc:8090")]
    [TestCase("", "http://warpdrive-control-plane.wd.svc:8090")]
    [TestCase("fd00::12", "http://[fd00::12]:8090")]
    public void A_headless_service_or_an_ipv6_cluster_ip_gives_a_usable_url(string clusterIp, string url) =>
        Assert.That(new OperatorOptions { Namespace = "wd" }.ControlPlaneUrlFor(clusterIp), Is.EqualTo(url));

    [Test]
    public async Task A_source_for_gpu_nodes_rewrites_only_their_config_maps()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1", ("pool", "gpu")));
        h.Cluster.Add(Fixtures.Node("gpu-2", ("pool", "gpu")));
        h.Cluster.Add(Fixtures.Node("cpu-1", ("pool", "cpu")));
        await h.NodeConfigs.SyncAsync(CancellationToken.None);

        h.Cluster.Add(Fixtures.Local("team-a", "shards", nodeSelector: new() { ["pool"] = "gpu" }));
        var applied = await h.NodeConfigs.SyncAsync(CancellationToken.None);

        Assert.That(applied, Is.EquivalentTo(new[] { "warpdrive-node-gpu-1", "warpdrive-node-gpu-2" }));
        Assert.That(h.Cluster.ConfigMaps["warpdrive-node-cpu-1"].Data[NodeConfigMaps.ConfigKey], Does.Not.Contain("team-a-shards"));
    }

    [Test]
    public async Task A_config_map_edited_by_hand_is_put_back()
    {
        var h = new ReconcilerHarness();
        h.Cluster.Add(Fixtures.Node("gpu-1"));
        h.Cluster.Add(Fixtures.Local("team-a", "imagenet"));
        await h.NodeConfigs.SyncAsync(CancellationToken.None);
        var original = h.Cluster.ConfigMaps["warpdrive-node-gpu-1"].Data[NodeConfigMaps.ConfigKey];

        // Data changed, hash annotation left as it was: the data hash gives it away.
        h.Cluster.ConfigMaps["warpdrive-node-gpu-1"].Data[NodeConfigMaps.ConfigKey] = "backends: []\n";
        var applied = await h.NodeConfigs.SyncAsync(CancellationToken.None);

        Assert.That(applied, Is.EqualTo(new[] { "warpdrive-node-gpu-1" }));
        Assert.That(h.Cluster.ConfigMaps["warpdrive-node-gpu-1"].Data[NodeConfigMaps.ConfigKey], Is.EqualTo(original));
    }

    [Test]
    public async Task Credentials_secret_holds_only_referenced_secrets_and_is_written_only_on_change()
    {
        var h = new ReconcilerHarness();
        var auth = new Resources.AuthSpec { Method = AuthMethods.Static, SecretRef = new() { Name = "s3-keys" } };
        h.Cluster.Add(Fixtures.Source("team-a", "bucket", BackendTypes.S3, new() { ["bucket"] = "b", ["region"] = "us-east-1" }, auth));
        h.Cluster.AddTenantSecret(Fixtures.Secret("team-a", "s3-keys", ("access_key_id", "AKIDEXAMPLE"), ("secret_access_key", "hunter2")));
        h.Cluster.AddTenantSecret(Fixtures.Secret("team-a", "unrelated", ("password", "nope")));

        Assert.That(await h.Credentials.SyncAsync(CancellationToken.None), Is.True);
        Assert.That(await h.Credentials.SyncAsync(CancellationToken.None), Is.False, "unchanged data: no write");

        var data = h.Cluster.OwnSecret("warpdrive-credentials")!.Data;
        Assert.That(data.Keys, Is.EquivalentTo(new[] { "secret_team-a_s3-keys_access_key_id", "secret_team-a_s3-keys_secret_access_key" }));
        Assert.That(System.Text.Encoding.UTF8.GetString(data["secret_team-a_s3-keys_secret_access_key"]), Is.EqualTo("hunter2"));
    }
}
