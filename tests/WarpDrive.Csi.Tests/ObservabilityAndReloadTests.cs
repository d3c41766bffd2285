using System.Net;
using Csi.V1;
using Grpc.Core;
using NUnit.Framework;

namespace WarpDrive.Csi.Tests;

/// <summary>/metrics, /healthz and live config reload of a running plugin host.</summary>
[NonParallelizable]
public sealed class ObservabilityAndReloadTests
{
    private static readonly string[] MetricNames =
    [
        "warpdrive_cache_hit_total", "warpdrive_cache_miss_total", "warpdrive_cache_size_bytes", "warpdrive_cache_evictions_total", "warpdrive_cache_corrupt_blocks_total",
        "warpdrive_cache_utilization_ratio", "warpdrive_fuse_operations_total{", "warpdrive_fuse_operation_duration_seconds_bucket{",
        "warpdrive_backend_request_duration_seconds_bucket{", "warpdrive_backend_bytes_read_total{", "warpdrive_readahead_hit_total",
        "warpdrive_readahead_wasted_total", "warpdrive_auth_refresh_total{", "warpdrive_backend_errors_total{",
    ];

    private PluginFixture? _fixture;
    private HttpClient _http = null!;

    private PluginFixture Plugin => _fixture!;

    [SetUp]
    public void CreateClient() => _http = new HttpClient();

    [TearDown]
    public async Task StopPlugin()
    {
        _http.Dispose();
        if (_fixture is not null)
        {
            await _fixture.DisposeAsync();
        }
    }

    [Test]
    public async Task EveryMetricNameIsScrapedAfterARead()
    {
        _fixture = await PluginFixture.StartAsync();
        await Plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("vol-1", Plugin.Target("p"), "team-a-data", podNamespace: "team-a"));
        Assert.That(File.ReadAllBytes(Path.Combine(Plugin.Target("p"), "sub/deep.bin")), Has.Length.EqualTo(3 * 1024 * 1024 + 123));
        // A read of a missing file through the backend, so an error series exists too.
        Assert.That(File.Exists(Path.Combine(Plugin.Target("p"), "missing.txt")), Is.False);

        var text = await _http.GetStringAsync(new Uri(Plugin.Host.MetricsAddress!, "/metrics"));

        Assert.Multiple(() =>
        {
            foreach (var name in MetricNames)
            {
                Assert.That(text, Does.Contain(name), name);
            }

            Assert.That(text, Does.Contain("warpdrive_fuse_operations_total{").And.Contain("operation=\"read\""));
            Assert.That(text, Does.Contain("backend=\"team-a-data\""));
            Assert.That(text, Does.Contain("# TYPE warpdrive_backend_errors_total counter"));
        });
    }

    [Test]
    public async Task HealthzIsOkThenDegradedWhenAFuseMountIsGone()
    {
        _fixture = await PluginFixture.StartAsync(grace: TimeSpan.FromHours(1));
        await Plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("vol-1", Plugin.Target("p"), "shared"));
        var healthz = new Uri(Plugin.Host.MetricsAddress!, "/healthz");

        using (var ok = await _http.GetAsync(healthz))
        {
            Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK), await ok.Content.ReadAsStringAsync());
            Assert.That(await ok.Content.ReadAsStringAsync(), Does.Contain("\"status\":\"ok\"").And.Contain("fuse_mount").And.Contain("cache_db"));
        }

        // What an admin's umount -l (or a crashed server) does to the source mount.
        await Plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "vol-1", TargetPath = Plugin.Target("p") });
        BindMounts.Unmount(Plugin.SourceMountPoint("shared"));

        using var degraded = await _http.GetAsync(healthz);
        var body = await degraded.Content.ReadAsStringAsync();
        TestContext.Out.WriteLine(body);
        Assert.That(degraded.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(body, Does.Contain("\"status\":\"degraded\"").And.Contain(Plugin.SourceMountPoint("shared")));
    }

    [Test]
    public async Task AnUnusedSourceStaysMountedThroughTheGracePeriod()
    {
        _fixture = await PluginFixture.StartAsync(grace: TimeSpan.FromHours(1));
        await Plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("vol-1", Plugin.Target("a"), "shared"));
        await Plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "vol-1", TargetPath = Plugin.Target("a") });

        Assert.That(Plugin.FuseMountsOf("shared"), Is.EqualTo(1));
        await Plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("vol-1", Plugin.Target("b"), "shared"));
        Assert.That(Plugin.FuseMountsOf("shared"), Is.EqualTo(1), "the pod that came back reused the mount");
    }

    [Test]
    public async Task ReloadAddsChangesAndRemovesSourcesWhileVolumesArePublished()
    {
        _fixture = await PluginFixture.StartAsync();
        var watcher = Plugin.Host.Watcher;
        await Plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("a", Plugin.Target("a"), "team-a-data", podNamespace: "team-a"));
        await Plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("s", Plugin.Target("s"), "shared"));

        // Add "fresh", point team-a-data at a new root, drop "shared".
        Plugin.WriteData("data-a2", ("hello.txt", "version two\n"));
        Plugin.WriteData("fresh", ("new.txt", "fresh\n"));
        var yaml = Plugin.ConfigYaml(dataARoot: "data-a2")
            .Replace("  - name: shared\n    type: local\n    config: { root: " + Plugin.Root + "/shared }\n", "", StringComparison.Ordinal)
            + $"  - name: fresh\n    type: local\n    config: {{ root: {Plugin.Root}/fresh }}\n";
        Assert.That(yaml, Does.Not.Contain("name: shared"));
        var before = watcher.Reloads;
        Plugin.WriteConfig(yaml);
        await Plugin.WaitForReloadAsync(() => watcher.Reloads > before);
        Assert.That(watcher.Reloads, Is.EqualTo(before + 1), watcher.LastError);

        // New source: mountable.
        await Plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("f", Plugin.Target("f"), "fresh"));
        Assert.That(File.ReadAllText(Path.Combine(Plugin.Target("f"), "new.txt")), Is.EqualTo("fresh\n"));

        // Removed source: refused for new publishes, the published one keeps working, unmounted after it goes.
        var refused = Assert.ThrowsAsync<RpcException>(async () => await Plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("s2", Plugin.Target("s2"), "shared")))!;
        Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(File.ReadAllText(Path.Combine(Plugin.Target("s"), "readme.txt")), Is.EqualTo("shared data\n"));
        await Plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "s", TargetPath = Plugin.Target("s") });
        Assert.That(Plugin.FuseMountsOf("shared"), Is.EqualTo(0));

        // Changed source: the published volume keeps the old settings; after its unpublish, the next publish gets the new.
        Assert.That(File.ReadAllText(Path.Combine(Plugin.Target("a"), "hello.txt")), Is.EqualTo("hello from team a\n"));
        await Plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "a", TargetPath = Plugin.Target("a") });
        await Plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("a", Plugin.Target("a"), "team-a-data", podNamespace: "team-a"));
        Assert.That(File.ReadAllText(Path.Combine(Plugin.Target("a"), "hello.txt")), Is.EqualTo("version two\n"));
    }

    [Test]
    public async Task ABadConfigIsRefusedAndTheOldOneKeepsServing()
    {
        _fixture = await PluginFixture.StartAsync();
        var watcher = Plugin.Host.Watcher;
        var attempts = 0;
        watcher.Reloaded += () => Interlocked.Increment(ref attempts);

        Plugin.WriteConfig(Plugin.ConfigYaml() + "  - name: Bad Name\n    type: local\n    config: { root: /x }\n");
        await Plugin.WaitForReloadAsync(() => Volatile.Read(ref attempts) > 0 && watcher.LastError is not null);

        TestContext.Out.WriteLine(watcher.LastError);
        Assert.That(watcher.LastError, Does.Contain("config reload refused").And.Contain("backends[2].name"));
        await Plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("s", Plugin.Target("s"), "shared"));
        Assert.That(File.ReadAllText(Path.Combine(Plugin.Target("s"), "readme.txt")), Is.EqualTo("shared data\n"));
    }
}
