using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace WarpDrive.Node.Kubernetes;

/// <summary>
/// The four API calls the node makes for warm jobs: read its Node's labels, list and watch WarpCacheWarms in all
/// namespaces, and server-side apply its own <c>status.nodes[]</c> entry. Stateless; safe to share.
/// </summary>
public sealed class WarmJobClient(IKubernetes client, string nodeName)
{
    /// <summary>The server closes a watch after this long; it is then resumed from the last resourceVersion.</summary>
    private const int WatchTimeoutSeconds = 300;

    public string NodeName => nodeName;

    public async Task<IDictionary<string, string>> NodeLabelsAsync(CancellationToken cancellationToken)
    {
        var node = await client.CoreV1.ReadNodeAsync(nodeName, cancellationToken: cancellationToken).ConfigureAwait(false);
        return node.Metadata?.Labels ?? new Dictionary<string, string>();
    }

    public async Task<(IList<WarmJob> Items, string ResourceVersion)> ListAsync(CancellationToken cancellationToken)
    {
        using var response = await ListCall(watch: false, null, cancellationToken).ConfigureAwait(false);
        return (response.Body.Items, response.Body.Metadata?.ResourceVersion ?? "");
    }

    /// <summary>Events from <paramref name="resourceVersion"/> on; a Status event (e.g. 410 Gone) goes to <paramref name="onError"/>.</summary>
    // The generated WatchList*Async replacements yield untyped objects for custom resources; the typed helper is the
    // one the client has for them (the operator's informers use it the same way).
#pragma warning disable CS0618
    public IAsyncEnumerable<(WatchEventType Type, WarmJob Object)> WatchAsync(string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken) =>
        ListCall(watch: true, resourceVersion, cancellationToken).WatchAsync<WarmJob, WarmJobList>(onError, cancellationToken);
#pragma warning restore CS0618

    /// <summary>
    /// Applies this node's entry only: the body holds nothing but <c>status.nodes[{node: this}]</c>, so the field
    /// manager owns exactly that entry and the operator's and other nodes' fields are untouched. The uid makes the
    /// apply fail (409) on a re-created job of the same name instead of writing into it.
    /// </summary>
    /// <returns>False when the job no longer exists (404 or a different uid).</returns>
    public async Task<bool> ApplyEntryAsync(WarmJob job, WarmNodeEntry entry, CancellationToken cancellationToken)
    {
        var body = new WarmJob
        {
            Metadata = new V1ObjectMeta { Name = job.Metadata.Name, NamespaceProperty = job.Metadata.NamespaceProperty, Uid = job.Metadata.Uid },
            Status = new WarmJobStatus { Nodes = [entry] },
        };
        try
        {
            using var response = await client.CustomObjects.PatchNamespacedCustomObjectStatusWithHttpMessagesAsync(
                new V1Patch(KubernetesJson.Serialize(body), V1Patch.PatchType.ApplyPatch),
                WarmJobApi.Group, WarmJobApi.Version, job.Metadata.NamespaceProperty, WarmJobApi.Plural, job.Metadata.Name,
                fieldManager: WarmJobApi.FieldManager(nodeName), force: true, cancellationToken: cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    private Task<HttpOperationResponse<WarmJobList>> ListCall(bool watch, string? resourceVersion, CancellationToken cancellationToken) =>
        client.CustomObjects.ListCustomObjectForAllNamespacesWithHttpMessagesAsync<WarmJobList>(
            WarmJobApi.Group, WarmJobApi.Version, WarmJobApi.Plural,
            allowWatchBookmarks: watch ? true : null, resourceVersion: resourceVersion,
            timeoutSeconds: watch ? WatchTimeoutSeconds : null, watch: watch, cancellationToken: cancellationToken);
}
