using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.E2E.Tests;

/// <summary>
/// The operator against a real API server. Works without kubelets: the test creates its own Node objects (labelled
/// so only its sources select them) and writes warm jobs' per-node entries itself, as the agents would. Everything
/// lives in two namespaces of its own and is deleted afterwards, Nodes included.
/// </summary>
[Category("OperatorProcess"), NonParallelizable]
public sealed class OperatorTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string run = Guid.NewGuid().ToString("N")[..6];
    private readonly List<OperatorProcess> operators = [];
    private string operatorNs = "";
    private string tenantNs = "";
    private Kubernetes client = null!;

    private string GpuNode(int i) => $"wd-e2e-{run}-gpu-{i}";

    private string CpuNode => $"wd-e2e-{run}-cpu-1";

    private Dictionary<string, string> OurGpus => new() { ["warpdrive.io/e2e-run"] = run, ["warpdrive.io/pool"] = "gpu" };

    [OneTimeSetUp]
    public async Task SetUpAsync()
    {
        client = Cluster.Client;
        operatorNs = $"wd-e2e-{run}";
        tenantNs = $"wd-e2e-{run}-team";

        foreach (var file in Directory.GetFiles(RepoFile("crds"), "*.yaml"))
        {
            var crd = KubernetesYaml.Deserialize<V1CustomResourceDefinition>(await File.ReadAllTextAsync(file));
            await client.ApiextensionsV1.PatchCustomResourceDefinitionAsync(
                new V1Patch(KubernetesJson.Serialize(crd), V1Patch.PatchType.ApplyPatch), crd.Metadata.Name, fieldManager: "warpdrive-e2e", force: true);
        }

        foreach (var ns in new[] { operatorNs, tenantNs })
        {
            await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = ns } });
        }

        foreach (var (name, pool) in new[] { (GpuNode(1), "gpu"), (GpuNode(2), "gpu"), (CpuNode, "cpu") })
        {
            await client.CoreV1.CreateNodeAsync(new V1Node
            {
                Metadata = new() { Name = name, Labels = new Dictionary<string, string> { ["warpdrive.io/e2e-run"] = run, ["warpdrive.io/pool"] = pool } },
            });
        }

        await Eventually(async () => (await client.ApiextensionsV1.ReadCustomResourceDefinitionAsync("warpdatasources.warpdrive.io"))
            .Status?.Conditions?.Any(c => c.Type == "Established" && c.Status == "True") == true);
        operators.Add(OperatorProcess.Start($"e2e-{run}-a", operatorNs));
    }

    [OneTimeTearDown]
    public async Task TearDownAsync()
    {
        // Each one is stopped even when another's teardown fails, so no operator process outlives the run.
        foreach (var process in operators)
        {
            try
            {
                process.Dispose();
            }
            catch (Exception error)
            {
                TestContext.Progress.WriteLine($"e2e: stopping operator {process.Identity} failed: {error.Message}");
            }
        }

        foreach (var name in new[] { GpuNode(1), GpuNode(2), CpuNode })
        {
            await Try(() => client.CoreV1.DeleteNodeAsync(name));
        }

        // Sources keep their finalizer once no operator runs: drop it so the namespace can go.
        var sources = await client.CustomObjects.ListNamespacedCustomObjectAsync<WarpDrive.Operator.Kube.ResourceList<WarpDataSource>>(WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, "warpdatasources");
        foreach (var source in sources.Items)
        {
            await Try(() => client.CustomObjects.PatchNamespacedCustomObjectAsync(
                new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch),
                WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, "warpdatasources", source.Metadata.Name));
            await Try(() => client.CoreV1.DeletePersistentVolumeAsync(SourceNames.PersistentVolumeName(source)));
        }

        foreach (var ns in new[] { tenantNs, operatorNs })
        {
            await Try(() => client.CoreV1.DeleteNamespaceAsync(ns));
        }
    }

    [Test, Order(1)]
    public async Task Crds_are_installed_and_established()
    {
        foreach (var name in new[] { "warpdatasources.warpdrive.io", "warpcachewarms.warpdrive.io" })
        {
            var crd = await client.ApiextensionsV1.ReadCustomResourceDefinitionAsync(name);
            Assert.That(crd.Status.Conditions.Any(c => c.Type == "Established" && c.Status == "True"), Is.True, name);
        }
    }

    [Test, Order(2)]
    public async Task Invalid_sources_are_refused_naming_the_field()
    {
        var noSecret = Source("bad-auth", OurGpus);
        noSecret.Spec.Auth = new AuthSpec { Method = AuthMethods.Static };
        var refused = Assert.ThrowsAsync<HttpOperationException>(() => Create(noSecret));
        Assert.That(refused!.Response.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
        Assert.That(refused.Response.Content, Does.Contain("spec.auth.secretRef"));

        var badType = Source("bad-type", OurGpus);
        badType.Spec.Backend.Type = "ftp";
        refused = Assert.ThrowsAsync<HttpOperationException>(() => Create(badType));
        Assert.That(refused!.Response.Content, Does.Contain("spec.backend.type"));
    }

    [Test, Order(3)]
    public async Task A_source_is_rendered_into_the_selected_nodes_config_maps_then_cleaned_up_on_deletion()
    {
        var source = Source("imagenet", OurGpus);
        await Create(source);
        var backend = $"{tenantNs}-imagenet";

        await Eventually(async () => (await ConfigYaml(GpuNode(1))).Contains(backend, StringComparison.Ordinal)
            && (await ConfigYaml(GpuNode(2))).Contains(backend, StringComparison.Ordinal));
        Assert.That(await ConfigYaml(CpuNode), Does.Not.Contain(backend), "the cpu node is not selected");
        await Eventually(async () => (await ReadSource("imagenet"))?.Status?.NodesTotal == 2);
        var stored = (await ReadSource("imagenet"))!;
        Assert.That(stored.Metadata.Finalizers, Does.Contain(SourceReconciler.Finalizer));
        Assert.That(Conditions.Find(stored.Status!.Conditions, SourceConditions.CredentialsValid)!.Status, Is.EqualTo("True"));
        Assert.That((await client.CoreV1.ReadPersistentVolumeAsync(SourceNames.PersistentVolumeName(stored))).Spec.Csi.VolumeHandle,
            Is.EqualTo($"{tenantNs}/imagenet"));
        Assert.That(await client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("imagenet", tenantNs), Is.Not.Null);

        await client.CustomObjects.DeleteNamespacedCustomObjectAsync(WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, "warpdatasources", "imagenet");

        await Eventually(async () => await ReadSource("imagenet") is null);
        Assert.That(await ConfigYaml(GpuNode(1)), Does.Not.Contain(backend));
        // The PV's own pv-protection finalizer lets it go once the claim is gone: eventually, not at once.
        await Eventually(async () => !await Kube.ExistsAsync(() => client.CoreV1.ReadPersistentVolumeAsync(SourceNames.PersistentVolumeName(stored))));
    }

    [Test, Order(4)]
    public async Task A_missing_secret_shows_as_credentials_invalid()
    {
        var source = Source("needs-secret", OurGpus);
        source.Spec.Backend = new BackendSpec { Type = BackendTypes.S3, Config = new Dictionary<string, string> { ["bucket"] = "b", ["region"] = "us-east-1" } };
        source.Spec.Auth = new AuthSpec { Method = AuthMethods.Static, SecretRef = new SecretReference { Name = "absent" } };
        await Create(source);

        await Eventually(async () => Conditions.Find((await ReadSource("needs-secret"))?.Status?.Conditions, SourceConditions.CredentialsValid)?.Reason == "SecretNotFound");
    }

    [Test, Order(5)]
    public async Task A_warm_job_is_aggregated_to_succeeded_from_per_node_entries()
    {
        await Create(Source("warm-src", OurGpus));
        var warm = new WarpCacheWarm
        {
            Metadata = new V1ObjectMeta { Name = "warm-1", NamespaceProperty = tenantNs },
            Spec = new WarpCacheWarmSpec { Source = "warm-src", Paths = ["train"] },
        };
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(warm, WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, "warpcachewarms");
        await Eventually(async () => (await ReadWarm("warm-1"))?.Status?.Phase == WarmPhases.Pending);

        foreach (var node in new[] { GpuNode(1), GpuNode(2) })
        {
            // Exactly what an agent does: its own entry, its own field manager, server-side apply on status.
            var entry = new WarpCacheWarm
            {
                Metadata = new V1ObjectMeta { Name = "warm-1", NamespaceProperty = tenantNs },
                Spec = null!,
                Status = new WarpCacheWarmStatus { Nodes = [new WarmNodeStatus { Node = node, Phase = WarmPhases.Succeeded, FilesDone = 5, FilesTotal = 5 }] },
            };
            await client.CustomObjects.PatchNamespacedCustomObjectStatusAsync(
                new V1Patch(KubernetesJson.Serialize(entry), V1Patch.PatchType.ApplyPatch), WarpDriveApi.Group, WarpDriveApi.Version,
                tenantNs, "warpcachewarms", "warm-1", fieldManager: $"warpdrive-node-{node}", force: true);
        }

        await Eventually(async () => (await ReadWarm("warm-1"))?.Status?.Phase == WarmPhases.Succeeded);
        var status = (await ReadWarm("warm-1"))!.Status!;
        Assert.That(status.Progress, Is.EqualTo("10/10"));
        Assert.That(status.Nodes, Has.Count.EqualTo(2), "the operator's apply left the agents' entries alone");
        Assert.That(status.CompletionTime, Is.Not.Null);
    }

    [Test, Order(6)]
    public async Task With_two_operators_only_the_lease_holder_reconciles_and_the_other_takes_over()
    {
        var first = operators[0];
        var second = OperatorProcess.Start($"e2e-{run}-b", operatorNs);
        operators.Add(second);
        await Eventually(() => Task.FromResult(second.Logged("caches synced")));

        var lease = await client.CoordinationV1.ReadNamespacedLeaseAsync(LeaseLeaderElection.LeaseName, operatorNs);
        Assert.That(lease.Spec.HolderIdentity, Is.EqualTo(first.Identity));

        await Create(Source("while-a-leads", OurGpus));
        await Eventually(async () => (await ConfigYaml(GpuNode(1))).Contains($"{tenantNs}-while-a-leads", StringComparison.Ordinal));
        Assert.That(second.Logged("applied"), Is.False, "the follower wrote nothing");
        Assert.That(second.Logged("is the leader"), Is.False);

        first.Dispose();
        await Eventually(async () => (await client.CoordinationV1.ReadNamespacedLeaseAsync(LeaseLeaderElection.LeaseName, operatorNs)).Spec.HolderIdentity == second.Identity);
        await Create(Source("while-b-leads", OurGpus));
        await Eventually(async () => (await ConfigYaml(GpuNode(1))).Contains($"{tenantNs}-while-b-leads", StringComparison.Ordinal));
        Assert.That(second.Logged("is the leader"), Is.True);
    }

    private WarpDataSource Source(string name, Dictionary<string, string> nodeSelector) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = tenantNs },
        Spec = new WarpDataSourceSpec
        {
            Backend = new BackendSpec { Type = BackendTypes.Local, Config = new Dictionary<string, string> { ["root"] = "/srv/data" } },
            NodeSelector = nodeSelector,
        },
    };

    private async Task Create(WarpDataSource source) =>
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(source, WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, "warpdatasources");

    private Task<WarpDataSource?> ReadSource(string name) => Read<WarpDataSource>("warpdatasources", name);

    private Task<WarpCacheWarm?> ReadWarm(string name) => Read<WarpCacheWarm>("warpcachewarms", name);

    private async Task<T?> Read<T>(string plural, string name)
        where T : class
    {
        try
        {
            return await client.CustomObjects.GetNamespacedCustomObjectAsync<T>(WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, plural, name);
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task<string> ConfigYaml(string node)
    {
        try
        {
            var map = await client.CoreV1.ReadNamespacedConfigMapAsync(NodeConfigMaps.Name(node), operatorNs);
            return map.Data is { } data && data.TryGetValue(NodeConfigMaps.ConfigKey, out var yaml) ? yaml : "";
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return "";
        }
    }

    private async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline || operators.Any(o => o.HasExited))
            {
                Assert.Fail(operators.Any(o => o.HasExited) ? "an operator process exited" : "condition not reached in time");
            }

            await Task.Delay(500);
        }
    }

    private static async Task Try(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (HttpOperationException)
        {
            // Cleanup is best effort: a namespace or node already gone is fine.
        }
    }

    private static string RepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "WarpDrive.Operator.sln")))
            {
                return Path.Combine(dir.FullName, relative);
            }
        }

        return Path.GetFullPath(Path.Combine(SourceDir(), "..", "..", relative));
    }

    private static string SourceDir([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
