using System.Net.Http.Headers;
using System.Text.Json;
using NUnit.Framework;
using WarpDrive.ControlPlane;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// Access telemetry in CSI mode: reads through a published volume are accounted to the pod they came from, found
/// from the reader's cgroup and the pod info kubelet sent at publish time.
/// </summary>
[NonParallelizable]
public sealed class AccessTelemetryTests
{
    private const string PodUid = "7d3c1f0e-5a2b-4c8d-9e6f-0123456789ab";
    private PluginFixture? _fixture;

    [TearDown]
    public async Task StopPlugin()
    {
        if (_fixture is not null)
        {
            await _fixture.DisposeAsync();
            _fixture = null; // one fixture per test: the next test's teardown must not dispose it again
        }
    }

    [Test]
    public async Task ReadsFromAPodAreAccountedToItsServiceAccountAndOthersToTheirUser()
    {
        _fixture = await PluginFixture.StartAsync(settings: """
            telemetry: { enabled: true, sink: file, file_path: "{root}/access.jsonl", batch_size: 1, flush_interval: 100ms }
            """);
        var target = _fixture.Target("trainer");
        await _fixture.Node.NodePublishVolumeAsync(PluginFixture.PublishForPod("vol-1", target, "team-a-data", "team-a", "trainer-0", PodUid, "trainer"));

        using (var pod = new KubepodsCgroup(PodUid))
        {
            Assert.That(pod.Cat(Path.Combine(target, "hello.txt")), Is.EqualTo("hello from team a\n"));
        }

        Assert.That(File.ReadAllBytes(Path.Combine(target, "sub/deep.bin")), Has.Length.EqualTo(3 * 1024 * 1024 + 123));

        var events = await WaitForReadsAsync(Path.Combine(_fixture.Root, "access.jsonl"), "hello.txt", "sub/deep.bin");
        var podRead = events.First(e => e.GetProperty("path").GetString() == "hello.txt");
        var hostRead = events.First(e => e.GetProperty("path").GetString() == "sub/deep.bin");
        Assert.Multiple(() =>
        {
            Assert.That(podRead.GetProperty("user").GetString(), Is.EqualTo("system:serviceaccount:team-a:trainer"));
            Assert.That(podRead.GetProperty("namespace").GetString(), Is.EqualTo("team-a"));
            Assert.That(podRead.GetProperty("pod").GetString(), Is.EqualTo("trainer-0"));
            Assert.That(podRead.GetProperty("service_account").GetString(), Is.EqualTo("trainer"));
            Assert.That(podRead.GetProperty("backend").GetString(), Is.EqualTo("team-a-data"));
            Assert.That(podRead.GetProperty("bytes_read").GetInt64(), Is.EqualTo(18));
            Assert.That(podRead.GetProperty("cache_hit").GetBoolean(), Is.False, "the first read of a file fetches it");
            Assert.That(hostRead.GetProperty("user").GetString(), Is.EqualTo(Environment.UserName), "a process outside any pod is its local user");
            Assert.That(hostRead.TryGetProperty("namespace", out _), Is.False);
        });
    }

    /// <summary>
    /// The whole CSI-mode path the kit cluster takes (cgroup v1 hybrid host, kubelet's cgroupfs driver): a pod's reads,
    /// sent by the http sink with the agent's token to a real control plane, show up in its per-user usage as the
    /// pod's service account, and a second pass served by the node cache is counted as hits.
    /// </summary>
    [Test]
    public async Task APodsReadsInACgroupV1HierarchyReachTheControlPlaneAsItsServiceAccountWithCacheHitsCounted()
    {
        const string V1PodUid = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
        var scratch = Directory.CreateTempSubdirectory("warpdrive-csi-cp-").FullName;
        try
        {
            var agentToken = Path.Combine(scratch, "agent.token");
            await File.WriteAllTextAsync(agentToken, "agent-token-csi\n");
            await File.WriteAllTextAsync(Path.Combine(scratch, "reader.token"), "reader-token-csi");
            await File.WriteAllTextAsync(Path.Combine(scratch, "tokens.yaml"), """
                - { name: node-agents, role: agent, token_file: agent.token }
                - { name: ops, role: reader, token_file: reader.token }
                """);
            await using var controlPlane = await ControlPlaneHost.StartAsync(new ControlPlaneOptions
            {
                ListenAddress = "127.0.0.1:0",
                Database = $"sqlite://{Path.Combine(scratch, "cp.db")}",
                TokensFile = Path.Combine(scratch, "tokens.yaml"),
            }, CancellationToken.None);
            // As the operator renders it (rollup on), with a short flush so the test does not wait a minute.
            _fixture = await PluginFixture.StartAsync(cacheSettings: "passthrough: \"off\"", settings: $$"""
                telemetry: { enabled: true, sink: http, http_url: "{{controlPlane.BaseAddress}}", token_file: "{{agentToken}}", rollup: true, flush_interval: 100ms }
                """);
            var target = _fixture.Target("trainer-v1");
            await _fixture.Node.NodePublishVolumeAsync(PluginFixture.PublishForPod("vol-v1", target, "team-a-data", "team-a", "trainer-0", V1PodUid, "trainer"));
            var file = Path.Combine(target, "sub/deep.bin");
            using (var pod = new KubepodsCgroup(V1PodUid, cgroupV1: true))
            {
                Assert.That(pod.Cat(file), Has.Length.GreaterThan(0));
                // Forget the kernel's copy so the second pass reaches the agent again, served from its block cache.
                File.WriteAllText("/proc/sys/vm/drop_caches", "3");
                Assert.That(pod.Cat(file), Has.Length.GreaterThan(0));
            }

            await _fixture.DisposeAsync(); // unmounts and flushes every open rollup minute to the control plane
            _fixture = null;
            using var reader = new HttpClient { BaseAddress = controlPlane.BaseAddress };
            reader.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "reader-token-csi");
            using var usage = JsonDocument.Parse(await reader.GetStringAsync("api/v1/usage?group_by=user"));
            var rows = usage.RootElement.GetProperty("items").EnumerateArray().ToList();
            var trainer = rows.SingleOrDefault(r => r.GetProperty("group").GetString() == "system:serviceaccount:team-a:trainer");
            Assert.That(trainer.ValueKind, Is.EqualTo(JsonValueKind.Object), $"no usage row for the pod's service account in {usage.RootElement}");
            Assert.Multiple(() =>
            {
                Assert.That(trainer.GetProperty("bytes_read").GetInt64(), Is.EqualTo(2L * (3 * 1024 * 1024 + 123)), "both passes, every byte");
                Assert.That(trainer.GetProperty("cache_hit_ratio").GetDouble(), Is.GreaterThan(0).And.LessThan(1),
                    "the first pass fetched, the second came from the node cache");
            });
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Test]
    public async Task AReloadedTelemetrySectionTakesEffectUnderMountedVolumesWithoutARestart()
    {
        const string Telemetry = """
            telemetry: { enabled: true, sink: file, file_path: "{root}/FILE", batch_size: 1, flush_interval: 100ms }
            """;
        _fixture = await PluginFixture.StartAsync(settings: Telemetry.Replace("FILE", "before.jsonl", StringComparison.Ordinal));
        var target = _fixture.Target("trainer");
        await _fixture.Node.NodePublishVolumeAsync(PluginFixture.PublishForPod("vol-1", target, "team-a-data", "team-a", "trainer-0", PodUid, "trainer"));
        var after = Path.Combine(_fixture.Root, "after.jsonl");

        // As the operator's re-rendered ConfigMap arrives (e.g. the control plane's ClusterIP instead of its DNS name).
        _fixture.WriteConfig(Telemetry.Replace("{root}", _fixture.Root, StringComparison.Ordinal).Replace("FILE", "after.jsonl", StringComparison.Ordinal)
            + "\n" + _fixture.ConfigYaml());
        var opens = new List<JsonElement>();
        using (var pod = new KubepodsCgroup(PodUid))
        {
            // Every open is an event: open until one lands in the new sink (the reload is debounced).
            for (var attempt = 0; attempt < 100 && opens.Count == 0; attempt++)
            {
                Assert.That(pod.Cat(Path.Combine(target, "hello.txt")), Is.EqualTo("hello from team a\n"));
                await Task.Delay(100);
                opens = File.Exists(after)
                    ? [.. File.ReadAllLines(after).Select(l => JsonDocument.Parse(l).RootElement).Where(e => e.GetProperty("op").GetString() == "open")]
                    : [];
            }
        }

        Assert.That(opens, Is.Not.Empty, "no event reached the reloaded sink");
        Assert.Multiple(() =>
        {
            Assert.That(opens[0].GetProperty("user").GetString(), Is.EqualTo("system:serviceaccount:team-a:trainer"), "pods are still resolved");
            Assert.That(_fixture.Host.Sources.MountedPoints, Has.Count.EqualTo(1), "the volume stayed mounted");
        });
    }

    [Test]
    public void APublishWithoutEveryPodKeyNamesNoPod()
    {
        var complete = PluginFixture.PublishForPod("v", "/t", "shared", "ml", "trainer-0", PodUid, "trainer");
        var partial = complete.Clone();
        partial.VolumeContext.Remove(CsiDriver.ServiceAccountAttribute);

        Assert.Multiple(() =>
        {
            Assert.That(VolumeRequest.Parse(complete).Pod, Is.EqualTo(new PodInfo(PodUid, "ml", "trainer-0", "trainer")));
            Assert.That(VolumeRequest.Parse(partial).Pod, Is.Null);
        });
    }

    [Test]
    public void APodIsKnownWhileOneOfItsVolumesIsPublished()
    {
        var publications = new Publications();
        var pod = new PodInfo(PodUid, "ml", "trainer-0", "trainer");
        publications.Add(new Publication("v1", "shared", "/pods/a/v1", "/mnt/shared", pod));
        publications.Add(new Publication("v2", "other", "/pods/a/v2", "/mnt/other", pod));

        publications.Remove("/pods/a/v1");
        var whileOneLeft = publications.FindPod(PodUid);
        publications.Remove("/pods/a/v2");

        Assert.That(whileOneLeft, Is.EqualTo(pod));
        Assert.That(publications.FindPod(PodUid), Is.Null);
    }

    /// <summary>Read events from the JSONL sink once one exists for every path (bounded wait: the pump batches).</summary>
    private static async Task<List<JsonElement>> WaitForReadsAsync(string file, params string[] paths)
    {
        var reads = new List<JsonElement>();
        for (var attempt = 0; attempt < 200; attempt++)
        {
            reads = File.Exists(file)
                ? [.. File.ReadAllLines(file).Select(line => JsonDocument.Parse(line).RootElement).Where(e => e.GetProperty("op").GetString() == "read")]
                : [];
            if (paths.All(p => reads.Any(e => e.GetProperty("path").GetString() == p)))
            {
                return reads;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"no read events for all of {string.Join(", ", paths)} in {file} after 10 s; found {reads.Count} read event(s)");
        return reads;
    }
}
