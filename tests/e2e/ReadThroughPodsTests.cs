using System.Net;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using k8s;
using k8s.Autorest;
using k8s.Models;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;
using WarpDrive.Tests.Shared;

namespace WarpDrive.E2E.Tests;

/// <summary>
/// The product as users run it: the chart installed by hack/e2e.sh (operator Deployment, node DaemonSet, CSIDriver),
/// real pods scheduled by the kubelet, which calls our CSI plugin, which mounts our FUSE tree. Two sources: a directory
/// of the node (local backend) and s3rver listening on the node's address (s3 backend). Pods print the SHA-256 of
/// every file they read; the test compares them with the bytes it wrote. No test double anywhere in this fixture.
/// </summary>
[Category("Installed"), NonParallelizable]
public sealed class ReadThroughPodsTests
{
    private const string Bucket = "e2e-data";
    private readonly string run = Guid.NewGuid().ToString("N")[..6];
    private readonly Dictionary<string, string> expected = new(StringComparer.Ordinal);
    private Kube kube = null!;
    private string tenantNs = "";
    private string otherNs = "";
    private string node = "";
    private string hostDir = "";
    private ServerProcess? s3rver;

    /// <summary>The expected checksums of train/, as a pod sees them with subPath: train.</summary>
    private Dictionary<string, string> Train => expected.Where(e => e.Key.StartsWith("./train/", StringComparison.Ordinal))
        .ToDictionary(e => "./" + e.Key["./train/".Length..], e => e.Value);

    private string S3Endpoint => $"http://{s3rver!.Address}:{s3rver.Port}";

    [OneTimeSetUp]
    public async Task SetUpAsync()
    {
        InstalledProduct.RequireInstalled();
        kube = new Kube(Cluster.Client);
        node = await InstalledProduct.NodeNameAsync(kube.Client);
        tenantNs = $"wd-e2e-{run}";
        otherNs = $"wd-e2e-{run}-other";
        await kube.CreateNamespaceAsync(tenantNs);
        await kube.CreateNamespaceAsync(otherNs);

        // The same files in both sources: sizes around the 4 MiB block size, plus an empty and a nested file.
        hostDir = Path.Combine(InstalledProduct.HostDataDirectory, run);
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["train/shard-0.tar"] = RandomNumberGenerator.GetBytes(5 * 1024 * 1024 + 17),
            ["train/shard-1.tar"] = RandomNumberGenerator.GetBytes(1024 * 1024),
            ["train/deep/labels.json"] = "{\"classes\": 1000}\n"u8.ToArray(),
            ["val/empty"] = [],
        };
        foreach (var (path, bytes) in files)
        {
            var file = Path.Combine(hostDir, path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await File.WriteAllBytesAsync(file, bytes);
            expected[$"./{path}"] = Convert.ToHexStringLower(SHA256.HashData(bytes));
        }

        s3rver = await ServerProcess.StartS3rverAsync(Bucket, IPAddress.Parse(InstalledProduct.NodeAddress));
        using var s3 = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"),
            new AmazonS3Config
            {
                ServiceURL = S3Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1",
                // s3rver stores an aws-chunked body (the SDK's default with flexible checksums) as it arrives,
                // chunk headers included: send plain bodies.
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            });
        foreach (var (path, bytes) in files)
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = path, InputStream = new MemoryStream(bytes), UseChunkEncoding = false });
            // The server holds exactly these bytes, so a mismatch later is the product's, not the test data's.
            using var stored = await s3.GetObjectAsync(Bucket, path);
            using var copy = new MemoryStream();
            await stored.ResponseStream.CopyToAsync(copy);
            Assert.That(copy.ToArray(), Is.EqualTo(bytes), $"s3rver stored {path} as uploaded");
        }

        await kube.Client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta { Name = "s3-keys", NamespaceProperty = tenantNs },
            StringData = new Dictionary<string, string> { ["access_key"] = "S3RVER", ["secret_key"] = "S3RVER" },
        }, tenantNs);
        await kube.CreateSourceAsync(Source("local-src", BackendTypes.Local, new() { ["root"] = hostDir }));
        var s3Source = Source("s3-src", BackendTypes.S3, new()
        {
            ["bucket"] = Bucket, ["endpoint"] = S3Endpoint, ["path_style"] = "true", ["region"] = "us-east-1",
        });
        s3Source.Spec.Auth = new AuthSpec { Method = AuthMethods.Static, SecretRef = new SecretReference { Name = "s3-keys" } };
        await kube.CreateSourceAsync(s3Source);

        // As a user would: run pods once `kubectl get wds` says Ready (the agent reached the backend). A new Secret
        // reaches the agent through its credentials volume, which the kubelet refreshes about once a minute.
        await WaitReadyAsync("local-src");
        await WaitReadyAsync("s3-src");
    }

    private async Task WaitReadyAsync(string source) =>
        await Kube.EventuallyAsync($"{source} Ready", async () =>
            Conditions.Find((await kube.ReadSourceAsync(tenantNs, source))?.Status?.Conditions, SourceConditions.Ready)?.Status == "True",
            TimeSpan.FromMinutes(4));

    [OneTimeTearDown]
    public async Task TearDownAsync()
    {
        if (kube is not null)
        {
            // Sources first (their finalizer needs the operator), then the namespaces with the pods and claims.
            foreach (var name in new[] { "local-src", "s3-src", "s3-warm" })
            {
                await Kube.IgnoreNotFound(() => kube.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(
                    WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, "warpdatasources", name));
            }

            await kube.DeleteNamespaceAsync(otherNs);
            await kube.DeleteNamespaceAsync(tenantNs);
        }

        s3rver?.Dispose();
        if (hostDir.Length > 0 && Directory.Exists(hostDir))
        {
            Directory.Delete(hostDir, recursive: true);
        }
    }

    [Test, Order(1)]
    public async Task Each_source_reaches_this_nodes_config_map()
    {
        // What the agent mounts from: the operator's per-node ConfigMap in the release namespace.
        await Kube.EventuallyAsync("both backends in the node's ConfigMap", async () =>
        {
            var yaml = await NodeConfigYamlAsync();
            return yaml.Contains($"{tenantNs}-local-src", StringComparison.Ordinal) && yaml.Contains($"{tenantNs}-s3-src", StringComparison.Ordinal);
        });
        var source = await kube.ReadSourceAsync(tenantNs, "s3-src");
        Assert.That(Conditions.Find(source?.Status?.Conditions, SourceConditions.CredentialsValid)?.Status, Is.EqualTo("True"));
        Assert.That(await NodeConfigYamlAsync(), Does.Not.Contain("S3RVER"), "keys reach the agent as files, never in the ConfigMap");
    }

    [TestCase("local-src"), TestCase("s3-src"), Order(2)]
    public async Task A_pod_with_the_claim_reads_every_file_and_its_mount_goes_when_the_pod_goes(string source)
    {
        // The operator created a PVC of the source's name in its namespace, bound to the source's PV.
        await Kube.EventuallyAsync($"PVC {source} bound", async () =>
            (await kube.Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(source, tenantNs)).Status?.Phase == "Bound");
        var pod = Kube.ReaderPod(tenantNs, $"pvc-{source}", node,
            new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = source, ReadOnlyProperty = true } },
            ChecksumScript);
        var created = await kube.CreatePodAsync(pod);

        var log = await kube.WaitForChecksumsAsync(tenantNs, pod.Metadata.Name);

        Assert.That(ParseChecksums(log), Is.EquivalentTo(expected));
        await AssertPodVolumeUnmountedAfterDeleteAsync(created);
    }

    [Test, Order(3)]
    public async Task A_pod_with_an_inline_volume_reads_a_sub_path()
    {
        var pod = Kube.ReaderPod(tenantNs, "inline", node, InlineVolume(tenantNs, "s3-src", subPath: "train"), ChecksumScript);
        var created = await kube.CreatePodAsync(pod);

        var log = await kube.WaitForChecksumsAsync(tenantNs, pod.Metadata.Name);

        Assert.That(ParseChecksums(log), Is.EquivalentTo(Train));
        await AssertPodVolumeUnmountedAfterDeleteAsync(created);
    }

    [Test, Order(4)]
    public async Task A_warm_job_succeeds_with_progress_and_the_next_pod_reads_from_the_cache()
    {
        // A source of its own, so no earlier test has cached these objects (the cache is keyed by backend).
        var warmSource = Source("s3-warm", BackendTypes.S3, new()
        {
            ["bucket"] = Bucket, ["endpoint"] = S3Endpoint, ["path_style"] = "true", ["region"] = "us-east-1",
        });
        warmSource.Spec.Auth = new AuthSpec { Method = AuthMethods.Static, SecretRef = new SecretReference { Name = "s3-keys" } };
        await kube.CreateSourceAsync(warmSource);
        await WaitReadyAsync("s3-warm");
        var warm = new WarpCacheWarm
        {
            Metadata = new V1ObjectMeta { Name = "warm-train", NamespaceProperty = tenantNs },
            Spec = new WarpCacheWarmSpec { Source = "s3-warm", Paths = ["train"] },
        };
        await kube.Client.CustomObjects.CreateNamespacedCustomObjectAsync(warm, WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, "warpcachewarms");

        await Kube.EventuallyAsync("warm job Succeeded", async () => (await kube.ReadWarmAsync(tenantNs, "warm-train"))?.Status?.Phase == WarmPhases.Succeeded);
        var status = (await kube.ReadWarmAsync(tenantNs, "warm-train"))!.Status!;
        Assert.That(status.Nodes, Has.Some.Matches<WarmNodeStatus>(n => n.Node == node && n.FilesDone == 3 && n.FilesTotal == 3),
            "this node warmed the three files below train/");
        Assert.That(status.Progress, Is.EqualTo("3/3"));

        var agent = await InstalledProduct.AgentPodAsync(kube.Client, node);
        var fetchedBefore = await InstalledProduct.AgentMetricAsync(agent, "warpdrive_backend_bytes_read");
        var pod = Kube.ReaderPod(tenantNs, "after-warm", node, InlineVolume(tenantNs, "s3-warm", subPath: "train"), ChecksumScript);
        await kube.CreatePodAsync(pod);
        var log = await kube.WaitForChecksumsAsync(tenantNs, pod.Metadata.Name);
        var fetchedAfter = await InstalledProduct.AgentMetricAsync(agent, "warpdrive_backend_bytes_read");

        Assert.That(ParseChecksums(log), Is.EquivalentTo(Train), "the warmed bytes are the source's");
        Assert.That(fetchedAfter, Is.EqualTo(fetchedBefore), "no byte of train/ was fetched from S3 again: the pod read the warmed cache");
        await kube.DeletePodAndWaitAsync(tenantNs, pod.Metadata.Name);
    }

    [Test, Order(5)]
    public async Task A_pod_of_a_namespace_the_source_does_not_allow_waits_with_an_event_naming_why()
    {
        var pod = Kube.ReaderPod(otherNs, "not-allowed", node, InlineVolume(tenantNs, "local-src", subPath: null), ChecksumScript);
        await kube.CreatePodAsync(pod);

        string events = "";
        await Kube.EventuallyAsync("a FailedMount event", async () =>
        {
            events = await kube.EventsAsync(otherNs, pod.Metadata.Name);
            return events.Contains("FailedMount", StringComparison.Ordinal);
        });

        var stored = await kube.Client.CoreV1.ReadNamespacedPodAsync(pod.Metadata.Name, otherNs);
        Assert.That(stored.Status.Phase, Is.EqualTo("Pending"));
        Assert.That(stored.Status.ContainerStatuses?.Single().State?.Waiting?.Reason, Is.EqualTo("ContainerCreating"));
        Assert.That(events, Does.Contain(otherNs).And.Contain("local-src"), "the event names the namespace and the source");
        Assert.That(events, Does.Not.Contain("Exception"));
        await kube.DeletePodAndWaitAsync(otherNs, pod.Metadata.Name);
    }

    [Test, Order(6)]
    public async Task Deleting_a_source_removes_its_volume_claim_and_node_config()
    {
        var source = (await kube.ReadSourceAsync(tenantNs, "local-src"))!;
        var pv = SourceNames.PersistentVolumeName(source);

        await kube.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, "warpdatasources", "local-src");

        await Kube.EventuallyAsync("local-src gone", async () => await kube.ReadSourceAsync(tenantNs, "local-src") is null);
        await Kube.EventuallyAsync("its backend gone from the node config", async () =>
            !(await NodeConfigYamlAsync()).Contains($"{tenantNs}-local-src", StringComparison.Ordinal));
        await Kube.EventuallyAsync("its PV and PVC gone", async () =>
            !await Kube.ExistsAsync(() => kube.Client.CoreV1.ReadPersistentVolumeAsync(pv))
            && !await Kube.ExistsAsync(() => kube.Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("local-src", tenantNs)));
    }

    // find prints paths as ./a/b; sha256sum prints "<hex>  <path>". The pod then stays (its volume stays mounted) until
    // the test deletes it, so the test sees the mount on the node and sees it go.
    private const string ChecksumScript =
        "cd /data && find . -type f | sort | while read -r f; do sha256sum \"$f\" || exit 1; done && echo " + Kube.EndMarker + " && exec sleep 3600";

    private static Dictionary<string, string> ParseChecksums(string log) =>
        log.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split("  ", 2))
            .Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[1], parts => parts[0], StringComparer.Ordinal);

    private static V1Volume InlineVolume(string sourceNamespace, string source, string? subPath)
    {
        var attributes = new Dictionary<string, string> { ["source"] = source, ["namespace"] = sourceNamespace };
        if (subPath is not null)
        {
            attributes["subPath"] = subPath;
        }

        return new V1Volume { Name = "data", Csi = new V1CSIVolumeSource { Driver = "csi.warpdrive.io", ReadOnlyProperty = true, VolumeAttributes = attributes } };
    }

    private WarpDataSource Source(string name, string type, Dictionary<string, string> config) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = tenantNs },
        Spec = new WarpDataSourceSpec { Backend = new BackendSpec { Type = type, Config = config } },
    };

    private async Task<string> NodeConfigYamlAsync()
    {
        try
        {
            var map = await kube.Client.CoreV1.ReadNamespacedConfigMapAsync(NodeConfigMaps.Name(node), InstalledProduct.ReleaseNamespace);
            return map.Data is { } data && data.TryGetValue(NodeConfigMaps.ConfigKey, out var yaml) ? yaml : "";
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return "";
        }
    }

    /// <summary>The kubelet mounts a pod's CSI volume at pods/UID/volumes/kubernetes.io~csi/NAME/mount; deleting the pod must leave nothing there.</summary>
    private async Task AssertPodVolumeUnmountedAfterDeleteAsync(V1Pod pod)
    {
        var podDir = $"/var/lib/kubelet/pods/{pod.Metadata.Uid}/";
        Assert.That(Kube.HostMountsBelow(podDir), Is.Not.Empty, "the volume was mounted on the node while the pod existed");
        await kube.DeletePodAndWaitAsync(pod.Metadata.NamespaceProperty, pod.Metadata.Name);
        await Kube.EventuallyAsync("the pod's volume unmounted on the node", () => Task.FromResult(Kube.HostMountsBelow(podDir).Count == 0),
            TimeSpan.FromSeconds(60));
    }
}
