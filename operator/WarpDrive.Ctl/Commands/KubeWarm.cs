using k8s;
using k8s.Models;
using WarpDrive.Ctl.Infrastructure;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Ctl.Commands;

/// <summary>
/// <c>warm --kube</c>: creates a WarpCacheWarm for the operator and node agents to run, then polls its status into the
/// same progress display. Uses the current kubeconfig (or the in-cluster service account).
/// Not exercised by the tests: no cluster runs in the test environment.
/// </summary>
internal static class KubeWarm
{
    private const string Plural = "warpcachewarms";

    public static async Task<int> RunAsync(Terminal terminal, string ns, string source, string prefix, int workers, long? maxSize, CancellationToken ct)
    {
        try
        {
            return await WarmAsync(terminal, ns, source, prefix, workers, maxSize, ct);
        }
        catch (Exception e) when (e is HttpRequestException or k8s.Exceptions.KubeConfigException or k8s.Autorest.HttpOperationException)
        {
            throw new CtlException($"warm --kube: the Kubernetes API did not accept the request ({UsageErrors.OneLine(e.Message)}); " +
                                   "it uses KUBECONFIG, ~/.kube/config or the in-cluster service account");
        }
    }

    private static async Task<int> WarmAsync(Terminal terminal, string ns, string source, string prefix, int workers, long? maxSize, CancellationToken ct)
    {
        using var client = new Kubernetes(KubernetesClientConfiguration.BuildDefaultConfig());
        var job = new WarpCacheWarm
        {
            Metadata = new V1ObjectMeta { GenerateName = $"{source}-warm-", NamespaceProperty = ns },
            Spec = new WarpCacheWarmSpec { Source = source, Paths = [prefix.Trim('/')], Workers = workers, MaxSize = maxSize?.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        };
        var created = KubernetesJson.Deserialize<WarpCacheWarm>(KubernetesJson.Serialize(
            await client.CustomObjects.CreateNamespacedCustomObjectAsync(job, WarpDriveApi.Group, WarpDriveApi.Version, ns, Plural, cancellationToken: ct)));
        var name = created.Metadata.Name;
        terminal.Note($"warm: created {WarpCacheWarm.KindName} {ns}/{name}; following its status (Ctrl-C stops following, not the job)");

        var progress = new TransferProgress(terminal, "warm");
        var started = DateTime.UtcNow;
        var final = await progress.RunAsync(async () =>
        {
            while (true)
            {
                var current = KubernetesJson.Deserialize<WarpCacheWarm>(KubernetesJson.Serialize(
                    await client.CustomObjects.GetNamespacedCustomObjectAsync(WarpDriveApi.Group, WarpDriveApi.Version, ns, Plural, name, ct)));
                if (current.Status?.Totals is { } totals)
                {
                    progress.Report(new TransferSnapshot(totals.FilesDone, totals.FilesTotal, 0, totals.BytesDone, totals.BytesDone, DateTime.UtcNow - started));
                }

                if (current.Status?.Phase is WarmPhases.Succeeded or WarmPhases.Failed)
                {
                    return current;
                }

                await Task.Delay(TimeSpan.FromSeconds(2), ct);
            }
        });

        var failures = final.Status?.Nodes?.Where(n => n.Phase == WarmPhases.Failed).Select(n => $"{n.Node}: {n.Error}").ToList() ?? [];
        terminal.Print($"{WarpCacheWarm.KindName} {ns}/{name}: {final.Status?.Phase} ({final.Status?.Progress})");
        foreach (var failure in failures)
        {
            terminal.Note(failure);
        }

        return final.Status?.Phase == WarmPhases.Succeeded ? ExitCodes.Ok : ExitCodes.Failure;
    }
}
