using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Kube;

/// <summary>
/// The informers of everything the reconcilers read, and which work keys each change touches. Every replica runs
/// them (a new leader starts with a warm cache); only the leader's loop acts on <see cref="Changed"/>.
/// </summary>
public sealed class KubernetesClusterCache : IClusterCache
{
    private readonly Informer<WarpDataSource> sources;
    private readonly Informer<WarpCacheWarm> warms;
    private readonly Informer<V1Node> nodes;
    private readonly Informer<V1ConfigMap> configMaps;
    private readonly Informer<V1Secret> secrets;
    private readonly Informer<V1Service>? services;
    private readonly string ns;

    public KubernetesClusterCache(IKubernetes client, OperatorOptions options, ILoggerFactory logging)
    {
        ns = options.Namespace;
        var logger = logging.CreateLogger("informer");
        sources = new("warpdatasources", ListWatches.Custom<WarpDataSource>(client, "warpdatasources"), logger);
        warms = new("warpcachewarms", ListWatches.Custom<WarpCacheWarm>(client, "warpcachewarms"), logger);
        nodes = new("nodes", ListWatches.Nodes(client), logger);
        configMaps = new("configmaps", ListWatches.ConfigMaps(client, ns, $"{ManagedLabels.ManagedBy}={WarpDriveApi.FieldManager}"), logger);
        secrets = new("secrets", ListWatches.OwnSecret(client, ns, options.CredentialsSecretName), logger);
        if (options.ControlPlaneEnabled)
        {
            services = new("services", ListWatches.OwnService(client, ns, OperatorOptions.ControlPlaneServiceName), logger);
            // The control plane Service's ClusterIP is every node's telemetry address.
            services.Changed += _ => Raise(WorkKey.NodeConfigs);
        }

        sources.Changed += source =>
        {
            var sourceNs = SourceNames.Namespace(source);
            Raise(WorkKey.Source(sourceNs, source.Metadata.Name), WorkKey.NodeConfigs, WorkKey.Credentials);
            foreach (var warm in warms.List().Where(w => w.Metadata.NamespaceProperty == sourceNs && w.Spec.Source == source.Metadata.Name))
            {
                Raise(WorkKey.Warm(sourceNs, warm.Metadata.Name));
            }
        };
        warms.Changed += warm => Raise(WorkKey.Warm(warm.Metadata.NamespaceProperty ?? "default", warm.Metadata.Name));
        // A node's labels decide which sources it serves: every node count and every ConfigMap may change.
        nodes.Changed += _ => Raise([.. AllKeys()]);
        // Someone edited or deleted a ConfigMap we own: put it back.
        configMaps.Changed += _ => Raise(WorkKey.NodeConfigs);
        secrets.Changed += _ => Raise(WorkKey.Credentials);
    }

    /// <summary>A change that needs these keys reconciled.</summary>
    public event Action<WorkKey>? Changed;

    public IEnumerable<WorkKey> AllKeys()
    {
        yield return WorkKey.NodeConfigs;
        yield return WorkKey.Credentials;
        foreach (var source in sources.List())
        {
            yield return WorkKey.Source(SourceNames.Namespace(source), source.Metadata.Name);
        }

        foreach (var warm in warms.List())
        {
            yield return WorkKey.Warm(warm.Metadata.NamespaceProperty ?? "default", warm.Metadata.Name);
        }
    }

    /// <summary>Runs every informer until cancelled.</summary>
    public Task RunAsync(CancellationToken cancellationToken) => Task.WhenAll(
        sources.RunAsync(cancellationToken), warms.RunAsync(cancellationToken), nodes.RunAsync(cancellationToken),
        configMaps.RunAsync(cancellationToken), secrets.RunAsync(cancellationToken), services?.RunAsync(cancellationToken) ?? Task.CompletedTask);

    public Task WaitForSyncAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(sources.Synced, warms.Synced, nodes.Synced, configMaps.Synced, secrets.Synced, services?.Synced ?? Task.CompletedTask).WaitAsync(cancellationToken);

    public IReadOnlyList<WarpDataSource> Sources() => sources.List();

    public WarpDataSource? Source(string ns, string name) => sources.Get(ns, name);

    public IReadOnlyList<WarpCacheWarm> Warms() => warms.List();

    public WarpCacheWarm? Warm(string ns, string name) => warms.Get(ns, name);

    public IReadOnlyList<V1Node> Nodes() => nodes.List();

    public V1ConfigMap? OwnConfigMap(string name) => configMaps.Get(ns, name);

    public V1Secret? OwnSecret(string name) => secrets.Get(ns, name);

    public V1Service? OwnService(string name) => services?.Get(ns, name);

    private void Raise(params WorkKey[] keys)
    {
        foreach (var key in keys)
        {
            Changed?.Invoke(key);
        }
    }
}
