using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using WarpDrive.Operator.Resources;

namespace WarpDrive.E2E.Tests;

/// <summary>
/// The product as <c>hack/e2e.sh</c> installed it with the chart: which namespace, which images, which host directory
/// the node agent can see. These come from the script's environment; without them the tests of the installed product
/// are ignored with the reason (the operator-process tests still run against any cluster).
/// </summary>
public static class InstalledProduct
{
    /// <summary>Set by hack/e2e.sh: the chart's release namespace.</summary>
    public static string? ReleaseNamespace => Environment.GetEnvironmentVariable("WARPDRIVE_E2E_RELEASE_NAMESPACE") is { Length: > 0 } ns ? ns : null;

    /// <summary>The image test pods run (already on the node: nothing is pulled).</summary>
    public static string PodImage => Environment.GetEnvironmentVariable("WARPDRIVE_E2E_POD_IMAGE") ?? "localhost/debian:bookworm";

    /// <summary>A host directory the node agent sees at the same path (chart value node.hostPaths), for local sources.</summary>
    public static string HostDataDirectory => Environment.GetEnvironmentVariable("WARPDRIVE_E2E_HOST_DIR") ?? "/var/lib/warpdrive-e2e";

    /// <summary>An address of the node that pods can reach (for servers the tests start on the host).</summary>
    public static string NodeAddress => Environment.GetEnvironmentVariable("WARPDRIVE_E2E_NODE_IP") ?? "127.0.0.1";

    public static void RequireInstalled()
    {
        if (ReleaseNamespace is null)
        {
            Assert.Ignore("the chart is not installed by hack/e2e.sh (WARPDRIVE_E2E_RELEASE_NAMESPACE is not set)");
        }
    }

    public static async Task<string> NodeNameAsync(Kubernetes client)
    {
        var nodes = await client.CoreV1.ListNodeAsync();
        var ready = nodes.Items.Where(n => n.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true).ToList();
        Assert.That(ready, Has.Count.GreaterThanOrEqualTo(1), "a Ready node");
        return ready[0].Metadata.Name;
    }

    /// <summary>The node agent pod on <paramref name="node"/> (the DaemonSet's pod).</summary>
    public static async Task<V1Pod> AgentPodAsync(Kubernetes client, string node)
    {
        var pods = await client.CoreV1.ListNamespacedPodAsync(ReleaseNamespace, labelSelector: "app.kubernetes.io/component=node",
            fieldSelector: $"spec.nodeName={node}");
        var running = pods.Items.Where(p => p.Status?.Phase == "Running" && p.Metadata.DeletionTimestamp is null).ToList();
        Assert.That(running, Has.Count.EqualTo(1), $"one running agent pod on {node}");
        return running[0];
    }

    /// <summary>The sum of every series of a Prometheus metric on the agent's /metrics (the pod IP is reachable from the node).</summary>
    public static async Task<double> AgentMetricAsync(V1Pod agent, string metric, int port = 9090)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var text = await http.GetStringAsync($"http://{agent.Status.PodIP}:{port}/metrics");
        double sum = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(metric, StringComparison.Ordinal) && (line.Length > metric.Length && (line[metric.Length] is '{' or ' ')))
            {
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }
}

/// <summary>Small, explicit helpers over the API for the e2e tests: create, wait, read logs and events, delete.</summary>
public sealed class Kube(Kubernetes client)
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    public Kubernetes Client => client;

    public async Task CreateNamespaceAsync(string name) =>
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new() { Name = name } });

    public async Task DeleteNamespaceAsync(string name) => await IgnoreNotFound(() => client.CoreV1.DeleteNamespaceAsync(name));

    public async Task CreateSourceAsync(WarpDataSource source) =>
        await client.CustomObjects.CreateNamespacedCustomObjectAsync(source, WarpDriveApi.Group, WarpDriveApi.Version,
            source.Metadata.NamespaceProperty, "warpdatasources");

    public Task<WarpDataSource?> ReadSourceAsync(string ns, string name) => ReadCustomAsync<WarpDataSource>(ns, "warpdatasources", name);

    public Task<WarpCacheWarm?> ReadWarmAsync(string ns, string name) => ReadCustomAsync<WarpCacheWarm>(ns, "warpcachewarms", name);

    public async Task<T?> ReadCustomAsync<T>(string ns, string plural, string name)
        where T : class
    {
        try
        {
            return await client.CustomObjects.GetNamespacedCustomObjectAsync<T>(WarpDriveApi.Group, WarpDriveApi.Version, ns, plural, name);
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>A pod on <paramref name="node"/> that runs <paramref name="script"/> with <paramref name="volume"/> at /data.</summary>
    public static V1Pod ReaderPod(string ns, string name, string node, V1Volume volume, string script) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new V1PodSpec
        {
            NodeName = node,
            RestartPolicy = "Never",
            TerminationGracePeriodSeconds = 1,
            Containers =
            [
                new V1Container
                {
                    Name = "reader",
                    Image = InstalledProduct.PodImage,
                    ImagePullPolicy = "Never",
                    Command = ["/bin/sh", "-c", script],
                    VolumeMounts = [new V1VolumeMount { Name = volume.Name, MountPath = "/data", ReadOnlyProperty = true }],
                },
            ],
            Volumes = [volume],
        },
    };

    public async Task<V1Pod> CreatePodAsync(V1Pod pod) => await client.CoreV1.CreateNamespacedPodAsync(pod, pod.Metadata.NamespaceProperty);

    /// <summary>What a reader pod prints after its last checksum.</summary>
    public const string EndMarker = "END-OF-CHECKSUMS";

    /// <summary>Waits until a running reader pod has printed <see cref="EndMarker"/>; fails with its log and events when it ends or waits too long.</summary>
    public async Task<string> WaitForChecksumsAsync(string ns, string name)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var pod = await client.CoreV1.ReadNamespacedPodAsync(name, ns);
            var log = pod.Status?.Phase is "Running" or "Succeeded" or "Failed" ? await LogAsync(ns, name) : "";
            if (log.Contains(EndMarker, StringComparison.Ordinal))
            {
                return log[..log.IndexOf(EndMarker, StringComparison.Ordinal)];
            }

            if (pod.Status?.Phase is "Succeeded" or "Failed" || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"pod {ns}/{name} is {pod.Status?.Phase} without its checksums; log: {log}; events: {await EventsAsync(ns, name)}");
            }

            await Task.Delay(1000);
        }
    }

    public async Task<string> LogAsync(string ns, string name)
    {
        await using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(name, ns);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync();
    }

    /// <summary>The events of one object, oldest first, as "Reason: message" lines.</summary>
    public async Task<string> EventsAsync(string ns, string name)
    {
        var events = await client.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.name={name}");
        return string.Join("\n", events.Items.OrderBy(e => e.LastTimestamp ?? e.EventTime).Select(e => $"{e.Reason}: {e.Message}"));
    }

    /// <summary>Deletes the pod and waits until the API no longer has it (the kubelet has then unpublished its volumes).</summary>
    public async Task DeletePodAndWaitAsync(string ns, string name)
    {
        await IgnoreNotFound(() => client.CoreV1.DeleteNamespacedPodAsync(name, ns, gracePeriodSeconds: 0));
        await EventuallyAsync($"pod {ns}/{name} is gone", async () =>
        {
            try
            {
                await client.CoreV1.ReadNamespacedPodAsync(name, ns);
                return false;
            }
            catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
            {
                return true;
            }
        });
    }

    public static async Task EventuallyAsync(string what, Func<Task<bool>> condition, TimeSpan? patience = null)
    {
        var deadline = DateTime.UtcNow + (patience ?? Patience);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"not reached in time: {what}");
            }

            await Task.Delay(1000);
        }
    }

    public static async Task IgnoreNotFound(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    /// <summary>False when the read answers 404 Not Found.</summary>
    public static async Task<bool> ExistsAsync<T>(Func<Task<T>> read)
    {
        try
        {
            await read();
            return true;
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>FUSE and bind mounts on this host (the node) below a path: what a pod's volume leaves behind.</summary>
    public static IReadOnlyList<string> HostMountsBelow(string prefix) =>
        File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' ')[4])
            .Where(target => target.StartsWith(prefix, StringComparison.Ordinal))
            .ToList();
}
