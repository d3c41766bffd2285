using k8s;
using k8s.Autorest;
using k8s.Models;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Kube;

/// <summary>
/// An <see cref="IListWatch{T}"/> over one list call of the generated client, made with <c>watch=false</c> to list
/// and <c>watch=true</c> (with bookmarks and a server-side timeout, so idle watches are renewed) to watch.
/// </summary>
public sealed class ListWatch<T, TList>(Func<bool, string?, CancellationToken, Task<HttpOperationResponse<TList>>> call) : IListWatch<T>
    where T : IKubernetesObject<V1ObjectMeta>
    where TList : IItems<T>, IMetadata<V1ListMeta>
{
    public async Task<(IList<T> Items, string ResourceVersion)> ListAsync(CancellationToken cancellationToken)
    {
        using var response = await call(false, null, cancellationToken).ConfigureAwait(false);
        return (response.Body.Items, response.Body.Metadata.ResourceVersion);
    }

    // The generated WatchList*Async replacements are not generic over custom resource types (they yield untyped
    // objects), so the one typed watch helper the client has is used for every type alike.
#pragma warning disable CS0618
    public IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken) =>
        call(true, resourceVersion, cancellationToken).WatchAsync<T, TList>(onError, cancellationToken);
#pragma warning restore CS0618
}

/// <summary>A list of custom resources, shaped like every Kubernetes list.</summary>
public sealed class ResourceList<T> : IKubernetesObject<V1ListMeta>, IItems<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    public string ApiVersion { get; set; } = WarpDriveApi.GroupVersion;

    public string Kind { get; set; } = "List";

    public V1ListMeta Metadata { get; set; } = new();

    public IList<T> Items { get; set; } = [];
}

/// <summary>The list/watch calls of the resources the operator caches.</summary>
public static class ListWatches
{
    /// <summary>Watches are closed by the server after this long and resumed from their resourceVersion.</summary>
    private const int WatchTimeoutSeconds = 300;

    public static IListWatch<T> Custom<T>(IKubernetes client, string plural)
        where T : IKubernetesObject<V1ObjectMeta> =>
        new ListWatch<T, ResourceList<T>>((watch, version, ct) =>
            client.CustomObjects.ListCustomObjectForAllNamespacesWithHttpMessagesAsync<ResourceList<T>>(
                WarpDriveApi.Group, WarpDriveApi.Version, plural,
                allowWatchBookmarks: watch ? true : null, resourceVersion: version,
                timeoutSeconds: watch ? WatchTimeoutSeconds : null, watch: watch, cancellationToken: ct));

    public static IListWatch<V1Node> Nodes(IKubernetes client) =>
        new ListWatch<V1Node, V1NodeList>((watch, version, ct) =>
            client.CoreV1.ListNodeWithHttpMessagesAsync(
                allowWatchBookmarks: watch ? true : null, resourceVersion: version,
                timeoutSeconds: watch ? WatchTimeoutSeconds : null, watch: watch, cancellationToken: ct));

    public static IListWatch<V1ConfigMap> ConfigMaps(IKubernetes client, string ns, string labelSelector) =>
        new ListWatch<V1ConfigMap, V1ConfigMapList>((watch, version, ct) =>
            client.CoreV1.ListNamespacedConfigMapWithHttpMessagesAsync(ns,
                allowWatchBookmarks: watch ? true : null, labelSelector: labelSelector, resourceVersion: version,
                timeoutSeconds: watch ? WatchTimeoutSeconds : null, watch: watch, cancellationToken: ct));

    /// <summary>One Service of the operator's namespace, by name.</summary>
    public static IListWatch<V1Service> OwnService(IKubernetes client, string ns, string name) =>
        new ListWatch<V1Service, V1ServiceList>((watch, version, ct) =>
            client.CoreV1.ListNamespacedServiceWithHttpMessagesAsync(ns,
                allowWatchBookmarks: watch ? true : null, fieldSelector: $"metadata.name={name}", resourceVersion: version,
                timeoutSeconds: watch ? WatchTimeoutSeconds : null, watch: watch, cancellationToken: ct));

    /// <summary>Only the operator's own Secret (by name): tenants' Secrets are never cached.</summary>
    public static IListWatch<V1Secret> OwnSecret(IKubernetes client, string ns, string name) =>
        new ListWatch<V1Secret, V1SecretList>((watch, version, ct) =>
            client.CoreV1.ListNamespacedSecretWithHttpMessagesAsync(ns,
                allowWatchBookmarks: watch ? true : null, fieldSelector: $"metadata.name={name}", resourceVersion: version,
                timeoutSeconds: watch ? WatchTimeoutSeconds : null, watch: watch, cancellationToken: ct));
}
