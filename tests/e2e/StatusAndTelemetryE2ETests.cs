using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using k8s;
using k8s.Autorest;
using k8s.Models;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.E2E.Tests;

/// <summary>
/// Against the chart-installed product (operator with its control plane, node DaemonSet with real agents on real
/// kubelets), unlike <see cref="OperatorTests"/>, which runs its own operator processes on kubelet-less Nodes.
/// Needs: the chart installed by hack/e2e.sh (WARPDRIVE_E2E_RELEASE_NAMESPACE) with
/// <c>--set controlPlane.readers={system:serviceaccount:&lt;that namespace&gt;:warpdrive-e2e-reader}</c>, and an
/// image for the reading pod (<c>$WARPDRIVE_E2E_POD_IMAGE</c>, default the kit's localhost/debian:bookworm, never
/// pulled). Reported Ignored when the DaemonSet is not there. Everything it creates lives in its own namespace.
/// </summary>
[Category("Installed"), NonParallelizable]
public sealed class StatusAndTelemetryE2ETests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private readonly string run = Guid.NewGuid().ToString("N")[..6];
    private readonly string releaseNs = InstalledProduct.ReleaseNamespace ?? "warpdrive-system";
    private readonly string podImage = InstalledProduct.PodImage;
    private Kubernetes client = null!;
    private string tenantNs = "";

    [OneTimeSetUp]
    public async Task SetUpAsync()
    {
        InstalledProduct.RequireInstalled();
        client = Cluster.Client;
        try
        {
            await client.AppsV1.ReadNamespacedDaemonSetAsync("warpdrive-node", releaseNs);
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
            Assert.Ignore($"the chart is not installed in namespace {releaseNs} (hack/e2e.sh sets WARPDRIVE_E2E_RELEASE_NAMESPACE)");
        }

        tenantNs = $"wd-e2e-status-{run}";
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = tenantNs } });
        await client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new() { Name = "trainer" } }, tenantNs);
    }

    [OneTimeTearDown]
    public async Task TearDownAsync()
    {
        if (tenantNs.Length > 0)
        {
            // The operator's finalizer removes each source's PV; the namespace goes with everything else in it.
            await Try(() => client.CoreV1.DeleteNamespaceAsync(tenantNs));
        }
    }

    [Test]
    public async Task A_reachable_source_is_ready_and_an_unreachable_one_names_the_node_and_a_reason_without_exception_text()
    {
        // The agent container's own /etc is a local root every node has; port 1 of 127.0.0.1 refuses connections.
        await Create(Source("reachable", BackendTypes.Local, new() { ["root"] = "/etc" }));
        await Create(Source("unreachable", BackendTypes.S3,
            new() { ["bucket"] = "none", ["endpoint"] = "http://127.0.0.1:1", ["path_style"] = "true", ["timeout"] = "2s" }));

        var good = await WaitForAsync("reachable", s => Condition(s, SourceConditions.BackendReachable)?.Status == "True");
        var bad = await WaitForAsync("unreachable", s => Condition(s, SourceConditions.BackendReachable)?.Status == "False");

        var reachable = Condition(bad, SourceConditions.BackendReachable)!;
        var ready = Condition(bad, SourceConditions.Ready)!;
        // The event follows the status update that recorded the transition.
        List<Eventsv1Event> events = [];
        await EventuallyAsync(async () =>
        {
            events = (await client.EventsV1.ListNamespacedEventAsync(tenantNs)).Items
                .Where(e => e.Regarding?.Name == "unreachable" && e.Reason == "BackendUnreachable").ToList();
            return events.Count > 0;
        });
        Assert.Multiple(() =>
        {
            Assert.That(Condition(good, SourceConditions.Ready)!.Status, Is.EqualTo("True"));
            Assert.That(good.Status!.Nodes, Is.Not.Empty.And.All.Matches<SourceNodeStatus>(n => n.Reachable), "every serving node reported");
            Assert.That(reachable.Reason, Is.AnyOf("Unreachable", "Timeout"));
            Assert.That(reachable.Message, Does.Match("node \\S+: ").And.Not.Contain("Exception").And.Not.Contain("\n"));
            Assert.That(reachable.ObservedGeneration, Is.EqualTo(bad.Metadata.Generation));
            Assert.That((ready.Status, ready.Reason), Is.EqualTo(("False", "BackendUnreachable")));
            Assert.That(events.Where(e => e.Reason == "BackendUnreachable").Select(e => e.Type), Is.Not.Empty.And.All.EqualTo("Warning"), "an event for the transition");
        });
    }

    [Test]
    public async Task A_pods_reads_show_up_in_usage_by_user_as_its_service_account()
    {
        await Create(Source("shared-etc", BackendTypes.Local, new() { ["root"] = "/etc" }));
        await WaitForAsync("shared-etc", s => Condition(s, SourceConditions.Ready)?.Status == "True");
        await client.CoreV1.CreateNamespacedPodAsync(new V1Pod
        {
            Metadata = new() { Name = "reader" },
            Spec = new V1PodSpec
            {
                ServiceAccountName = "trainer",
                RestartPolicy = "Never",
                Containers =
                [
                    new V1Container
                    {
                        Name = "read", Image = podImage, ImagePullPolicy = "IfNotPresent",
                        // passwd: a regular file in the agent image's /etc (os-release is a symlink out of the root).
                        Command = ["sh", "-c", "cat /data/passwd /data/passwd > /dev/null"],
                        VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/data", ReadOnlyProperty = true }],
                    },
                ],
                Volumes = [new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = "shared-etc", ReadOnlyProperty = true } }],
            },
        }, tenantNs);
        await EventuallyAsync(async () => (await client.CoreV1.ReadNamespacedPodAsync("reader", tenantNs)).Status?.Phase == "Succeeded");

        // What warpdrive-ctl usage --group-by user asks, with a token the chart's readers list admits. Agents send
        // per-minute rollups, so the row can take a minute or two to appear.
        using var http = await ControlPlaneClientAsync();
        var user = $"system:serviceaccount:{tenantNs}:trainer";
        JsonElement row = default;
        await EventuallyAsync(async () =>
        {
            using var usage = JsonDocument.Parse(await http.GetStringAsync("api/v1/usage?group_by=user&backend=" + $"{tenantNs}-shared-etc"));
            var found = usage.RootElement.GetProperty("items").EnumerateArray().Where(r => r.GetProperty("group").GetString() == user).ToList();
            if (found.Count > 0)
            {
                row = found[0].Clone(); // the document is disposed after this lambda
            }

            return found.Count > 0;
        });
        Assert.That(row.GetProperty("bytes_read").GetInt64(), Is.Positive);
    }

    private WarpDataSource Source(string name, string type, Dictionary<string, string> config) => new()
    {
        Metadata = new() { Name = name, NamespaceProperty = tenantNs },
        Spec = new() { Backend = new() { Type = type, Config = config } },
    };

    private async Task Create(WarpDataSource source) =>
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(source, WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, "warpdatasources");

    private Task<WarpDataSource> Get(string name) =>
        client.CustomObjects.GetNamespacedCustomObjectAsync<WarpDataSource>(WarpDriveApi.Group, WarpDriveApi.Version, tenantNs, "warpdatasources", name);

    private static StatusCondition? Condition(WarpDataSource source, string type) => Conditions.Find(source.Status?.Conditions, type);

    /// <summary>The control plane Service by ClusterIP (no cluster DNS needed) with a reader's token for its audience.</summary>
    private async Task<HttpClient> ControlPlaneClientAsync()
    {
        const string Reader = "warpdrive-e2e-reader";
        await Try(() => client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new() { Name = Reader } }, releaseNs));
        var token = await client.CoreV1.CreateNamespacedServiceAccountTokenAsync(new Authenticationv1TokenRequest
        {
            Spec = new V1TokenRequestSpec { Audiences = ["warpdrive-control-plane"], ExpirationSeconds = 3600 },
        }, Reader, releaseNs);
        var service = await client.CoreV1.ReadNamespacedServiceAsync(OperatorOptions.ControlPlaneServiceName, releaseNs);
        var http = new HttpClient { BaseAddress = new Uri(new OperatorOptions().ControlPlaneUrlFor(service.Spec.ClusterIP) + "/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token.Status.Token);
        return http;
    }

    private async Task<WarpDataSource> WaitForAsync(string name, Func<WarpDataSource, bool> done)
    {
        WarpDataSource? source = null;
        await EventuallyAsync(async () => done(source = await Get(name)), () => source?.Status is { } status ? $"source {name}, status {KubernetesJson.Serialize(status)}" : $"source {name}, no status");
        return source!;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, Func<string>? what = null)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail(what is null ? "condition not reached in time" : "condition not reached in time: " + what());
            }

            await Task.Delay(1000);
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
            // Best effort: already there, or already gone.
        }
    }
}
