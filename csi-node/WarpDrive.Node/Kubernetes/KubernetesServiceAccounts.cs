using System.Net;
using k8s;
using k8s.Autorest;
using WarpDrive.Csi;

namespace WarpDrive.Node.Kubernetes;

/// <summary>
/// Reads a pod's service account for its annotations (role ARN, client id, Google service account): one GET per new
/// token, which is what kubelet's republish brings about once an hour, not per read. The agent's RBAC allows get on
/// serviceaccounts and nothing more (no list, no watch): it never learns of accounts whose pods it does not serve.
/// </summary>
public sealed class KubernetesServiceAccounts(IKubernetes client) : IServiceAccountDirectory
{
    public async Task<IReadOnlyDictionary<string, string>> AnnotationsAsync(string ns, string name, CancellationToken cancellationToken)
    {
        try
        {
            var account = await client.CoreV1.ReadNamespacedServiceAccountAsync(name, ns, cancellationToken: cancellationToken).ConfigureAwait(false);
            return account.Metadata?.Annotations is { } annotations
                ? new Dictionary<string, string>(annotations, StringComparer.Ordinal)
                : new Dictionary<string, string>();
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
