using System.Text.Json;
using NUnit.Framework;

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
