using System.Net;
using k8s;
using k8s.Autorest;
using WarpDrive.Csi;

namespace WarpDrive.Node.Kubernetes;

/// <summary>
/// Reads a pod's service account for its annotations (role ARN, client id, Google service account). kubelet
/// republishes every such volume about once a minute; answers are kept for <see cref="Freshness"/>, so a node asks
/// the API server at most once per account in that time, and an annotation change reaches the pods' identities
/// within it (at their next republish). The agent's RBAC allows get on serviceaccounts and nothing more (no list,
/// no watch): it never learns of accounts whose pods it does not serve. Failures are not kept.
/// </summary>
public sealed class KubernetesServiceAccounts(IKubernetes client) : IServiceAccountDirectory
{
    public static readonly TimeSpan Freshness = TimeSpan.FromMinutes(5);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Namespace, string Name), (IReadOnlyDictionary<string, string> Annotations, DateTimeOffset At)> _known = new();

    public async Task<IReadOnlyDictionary<string, string>> AnnotationsAsync(string ns, string name, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue((ns, name), out var known) && DateTimeOffset.UtcNow - known.At < Freshness)
        {
            return known.Annotations;
        }

        try
        {
            var account = await client.CoreV1.ReadNamespacedServiceAccountAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            IReadOnlyDictionary<string, string> annotations = account.Metadata?.Annotations is { } read
                ? new Dictionary<string, string>(read, StringComparer.Ordinal)
                : new Dictionary<string, string>();
            _known[(ns, name)] = (annotations, DateTimeOffset.UtcNow);
            return annotations;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ServiceAccountLookupException($"service account {ns}/{name} does not exist", notFound: true, e);
        }
        catch (HttpOperationException e)
        {
            throw new ServiceAccountLookupException($"could not read service account {ns}/{name}: the API server answered {(int)e.Response.StatusCode}"
                + (e.Response.StatusCode == HttpStatusCode.Forbidden ? " (the node agent's ClusterRole needs get on serviceaccounts)" : ""), notFound: false, e);
        }
        catch (HttpRequestException e)
        {
            throw new ServiceAccountLookupException($"could not read service account {ns}/{name}: the API server is unreachable", notFound: false, e);
        }
    }
}
