using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.E2E.Tests;

/// <summary>
/// No broken mount, ever, on the real cluster: a pod reads a large file through a WarpDrive PVC again and again,
/// checksumming every pass, while the node agent container is SIGKILLed (the kubelet restarts it, and it takes the
/// mounts back from the pod's fd holder) and while the DaemonSet is upgraded to a new image tag (the new pod starts
/// beside the old one and takes its mounts over). The pod must see 0 failed reads and only right checksums; the
/// longest single 1 MiB read is printed as the gap it saw.
/// </summary>
/// <remarks>Runs after the other Installed fixtures (NUnit orders fixtures by name): it replaces the agent pod.</remarks>
[Category("Installed"), NonParallelizable]
public sealed partial class SurvivingRestartsTests
{
    private const int FileMiB = 128;

    /// <summary>
    /// Reads /data/big.bin 1 MiB per open+read (each dd opens the file: new opens during the gap must wait too), 20 ms
    /// apart, pass after pass until /work/stop exists; prints each pass's SHA-256, READ-FAILED on any error (and exits
    /// 1), and at the end the longest single read.
    /// </summary>
    private const string ReaderScript = """
        f=/data/big.bin; n=$(( $(stat -c %s "$f") / 1048576 )); pass=0; longest=0
        [ "$n" -gt 0 ] || { echo "READ-FAILED stat $f"; exit 1; }
        while [ ! -e /work/stop ]; do
          pass=$((pass + 1)); : > /work/pass
          for ((i = 0; i < n; i++)); do
            t0=${EPOCHREALTIME/./}
            dd if="$f" bs=1M skip=$i count=1 status=none >> /work/pass || { echo "READ-FAILED pass=$pass mib=$i"; exit 1; }
            took=$(( (${EPOCHREALTIME/./} - t0) / 1000 )); [ "$took" -gt "$longest" ] && longest=$took
            [ $((i % 8)) -eq 0 ] && echo "progress pass=$pass mib=$i"
            sleep 0.02
          done
          echo "pass=$pass sha=$(sha256sum < /work/pass | cut -d' ' -f1)"
        done
        echo "done passes=$pass longest_ms=$longest"
        """;

    private readonly string run = Guid.NewGuid().ToString("N")[..6];
    private Kube kube = null!;
    private string ns = "";
    private string node = "";
    private string hostDir = "";
    private string expectedSha = "";

    [OneTimeSetUp]
    public async Task SetUpAsync()
    {
        InstalledProduct.RequireInstalled();
        kube = new Kube(Cluster.Client);
        node = await InstalledProduct.NodeNameAsync(kube.Client);
        ns = $"wd-e2e-{run}-survive";
        await kube.CreateNamespaceAsync(ns);

        hostDir = Path.Combine(InstalledProduct.HostDataDirectory, run);
        Directory.CreateDirectory(hostDir);
        var bytes = RandomNumberGenerator.GetBytes(FileMiB << 20);
        await File.WriteAllBytesAsync(Path.Combine(hostDir, "big.bin"), bytes);
        expectedSha = Convert.ToHexStringLower(SHA256.HashData(bytes));

        // Not served in place: every open and read goes through the agent's cache, so the agent's absence is felt.
        await kube.CreateSourceAsync(new WarpDataSource
        {
            Metadata = new V1ObjectMeta { Name = "big", NamespaceProperty = ns },
            Spec = new WarpDataSourceSpec
            {
                Backend = new BackendSpec { Type = BackendTypes.Local, Config = new Dictionary<string, string> { ["root"] = hostDir, ["serve_in_place"] = "false" } },
            },
        });
        await Kube.EventuallyAsync("source big Ready", async () =>
            Conditions.Find((await kube.ReadSourceAsync(ns, "big"))?.Status?.Conditions, SourceConditions.Ready)?.Status == "True",
            TimeSpan.FromMinutes(4));
        await Kube.EventuallyAsync("PVC big bound", async () =>
            (await kube.Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("big", ns)).Status?.Phase == "Bound");
    }

    [OneTimeTearDown]
    public async Task TearDownAsync()
    {
        if (kube is not null)
        {
            await Kube.IgnoreNotFound(() => kube.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(
                WarpDriveApi.Group, WarpDriveApi.Version, ns, "warpdatasources", "big"));
            await kube.DeleteNamespaceAsync(ns);
        }

        if (hostDir.Length > 0 && Directory.Exists(hostDir))
        {
            Directory.Delete(hostDir, recursive: true);
        }
    }

    [Test, Order(1)]
    public async Task A_pod_keeps_reading_with_no_failed_read_while_the_agent_container_is_killed()
    {
        var reader = await StartReaderAsync("while-killed");
        var agent = await InstalledProduct.AgentPodAsync(kube.Client, node);
        var restartsBefore = AgentStatus(agent).RestartCount;

        // The exec's own shell dies with the container, so its exit status says nothing: the restart count is the proof.
        var killing = await ExecAsync(agent, "agent", KillAgentScript, checkExit: false);
        Assert.That(killing, Does.Contain("killing"), "the agent process was found in its container");

        await Kube.EventuallyAsync("the agent container restarted and ready again", async () =>
        {
            var now = await kube.Client.CoreV1.ReadNamespacedPodAsync(agent.Metadata.Name, agent.Metadata.NamespaceProperty);
            return AgentStatus(now).RestartCount > restartsBefore && AgentStatus(now).Ready;
        });
        Assert.That(await AgentLogAsync(agent), Does.Contain("took over data source"), "the restarted agent took the mount back from the fd holder");

        await AssertEveryPassRightAsync(reader, "agent container SIGKILL");
    }

    [Test, Order(2)]
    public async Task A_pod_keeps_reading_with_no_failed_read_while_the_DaemonSet_is_upgraded_to_a_new_image()
    {
        var image = Environment.GetEnvironmentVariable("WARPDRIVE_E2E_UPGRADE_IMAGE");
        Assert.That(image, Is.Not.Null.And.Not.Empty, "hack/e2e.sh names the node image's second tag (WARPDRIVE_E2E_UPGRADE_IMAGE)");
        var reader = await StartReaderAsync("while-upgraded");
        var old = await InstalledProduct.AgentPodAsync(kube.Client, node);
        Assert.That(old.Spec.Containers.Single(c => c.Name == "agent").Image, Is.Not.EqualTo(image), "an upgrade, not a no-op");

        var patch = System.Text.Json.JsonSerializer.Serialize(new
        {
            spec = new { template = new { spec = new { containers = new[] { new { name = "agent", image }, new { name = "fd-holder", image } } } } },
        });
        await kube.Client.AppsV1.PatchNamespacedDaemonSetAsync(new V1Patch(patch, V1Patch.PatchType.StrategicMergePatch), "warpdrive-node", InstalledProduct.ReleaseNamespace);

        V1Pod? upgraded = null;
        await Kube.EventuallyAsync("the new agent pod ready and the old one gone", async () =>
        {
            var pods = await kube.Client.CoreV1.ListNamespacedPodAsync(InstalledProduct.ReleaseNamespace, labelSelector: "app.kubernetes.io/component=node",
                fieldSelector: $"spec.nodeName={node}");
            upgraded = pods.Items.SingleOrDefault(p => p.Metadata.Uid != old.Metadata.Uid && p.Status?.ContainerStatuses is { } s && s.All(c => c.Ready));
            return upgraded is not null && pods.Items.All(p => p.Metadata.Uid != old.Metadata.Uid);
        }, TimeSpan.FromMinutes(4));
        Assert.That(upgraded!.Spec.Containers.Single(c => c.Name == "agent").Image, Is.EqualTo(image));
        Assert.That(await AgentLogAsync(upgraded), Does.Contain("took over data source"), "the new pod's agent took the mount over from the old pod's");

        await AssertEveryPassRightAsync(reader, "DaemonSet upgrade");
    }

    /// <summary>
    /// In the agent container: SIGKILL the agent process, found among the processes in this container's cgroup (the
    /// pod runs with hostPID, so /proc shows the whole node; cgroup v1 and v2 alike).
    /// </summary>
    private const string KillAgentScript = """
        mine=$(cat /proc/$$/cgroup)
        for d in /proc/[0-9]*; do
          [ "$(cat "$d/cgroup" 2>/dev/null)" = "$mine" ] || continue
          case "$(tr '\0' ' ' < "$d/cmdline" 2>/dev/null)" in
            *warpdrive-node\ csi*) p=${d#/proc/}; echo "killing $p"; kill -KILL "$p" ;;
          esac
        done
        """;

    private async Task<V1Pod> StartReaderAsync(string name)
    {
        var pod = Kube.ReaderPod(ns, name, node,
            new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "big", ReadOnlyProperty = true } },
            ReaderScript);
        var container = pod.Spec.Containers.Single();
        container.Command = ["/bin/bash", "-c", ReaderScript];
        container.VolumeMounts.Add(new V1VolumeMount { Name = "work", MountPath = "/work" });
        pod.Spec.Volumes.Add(new V1Volume { Name = "work", EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory" } });
        var created = await kube.CreatePodAsync(pod);
        await Kube.EventuallyAsync($"reader {name} reading", async () =>
            (await kube.Client.CoreV1.ReadNamespacedPodAsync(name, ns)).Status?.Phase == "Running"
            && (await kube.LogAsync(ns, name)).Contains("progress", StringComparison.Ordinal));
        return created;
    }

    /// <summary>Ends the reader after its current pass, then checks its whole log: every pass right, no failed read.</summary>
    private async Task AssertEveryPassRightAsync(V1Pod reader, string what)
    {
        await ExecAsync(reader, "reader", "touch /work/stop");
        string log = "";
        await Kube.EventuallyAsync($"reader {reader.Metadata.Name} finished", async () =>
        {
            var pod = await kube.Client.CoreV1.ReadNamespacedPodAsync(reader.Metadata.Name, ns);
            log = await kube.LogAsync(ns, reader.Metadata.Name);
            return pod.Status?.Phase is "Succeeded" or "Failed";
        });

        var passes = PassLine().Matches(log).Select(m => m.Groups["sha"].Value).ToList();
        var done = DoneLine().Match(log);
        TestContext.Progress.WriteLine($"{what}: {passes.Count} passes of {FileMiB} MiB; longest single 1 MiB read (the gap the pod saw): " +
            $"{(done.Success ? done.Groups["ms"].Value : "?")} ms");
        Assert.Multiple(() =>
        {
            Assert.That(log, Does.Not.Contain("READ-FAILED"), "no read failed");
            Assert.That(done.Success, Is.True, $"the reader ended normally; log tail: {Tail(log)}");
            Assert.That(passes, Is.Not.Empty, "at least one whole pass");
            Assert.That(passes, Is.All.EqualTo(expectedSha), "every pass read the right bytes");
        });
        await kube.DeletePodAndWaitAsync(ns, reader.Metadata.Name);
    }

    private static V1ContainerStatus AgentStatus(V1Pod pod) => pod.Status.ContainerStatuses.Single(c => c.Name == "agent");

    private async Task<string> AgentLogAsync(V1Pod pod)
    {
        await using var stream = await kube.Client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty, container: "agent");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    /// <summary>Runs a shell script in a container (the API's exec); returns its stdout, fails on a non-zero exit.</summary>
    private async Task<string> ExecAsync(V1Pod pod, string container, string script, bool checkExit = true)
    {
        var output = new StringBuilder();
        try
        {
            var code = await kube.Client.NamespacedPodExecAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty, container, ["/bin/sh", "-c", script], false,
                async (_, stdout, _) =>
                {
                    using var reader = new StreamReader(stdout, Encoding.UTF8);
                    output.Append(await reader.ReadToEndAsync());
                }, CancellationToken.None);
            Assert.That(!checkExit || code == 0, Is.True, $"exec in {pod.Metadata.Name}/{container} exited {code}: {output}");
        }
        catch (Exception e) when (!checkExit && e is not AssertionException)
        {
            TestContext.Progress.WriteLine($"exec in {pod.Metadata.Name}/{container} ended with {e.GetType().Name} (its container stopped)");
        }

        return output.ToString();
    }

    private static string Tail(string log) => log.Length > 600 ? log[^600..] : log;

    [GeneratedRegex(@"^pass=\d+ sha=(?<sha>[0-9a-f]+)$", RegexOptions.Multiline)]
    private static partial Regex PassLine();

    [GeneratedRegex(@"^done passes=\d+ longest_ms=(?<ms>\d+)$", RegexOptions.Multiline)]
    private static partial Regex DoneLine();
}
