using k8s;
using k8s.Models;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Tests.Controller;

/// <summary>
/// Test double of the API server for the reconcilers (no API server can run here): both the cache they read and the
/// client they write through, over plain dictionaries. It behaves like the server where the reconcilers depend on
/// it: an object being deleted disappears once its last finalizer is removed, a warm status apply keeps the agents'
/// <c>status.nodes</c>, deletes of missing objects succeed. Every write is recorded in <see cref="Writes"/>.
/// </summary>
internal sealed class InMemoryCluster : IClusterCache, IClusterClient
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, WarpDataSource> sources = [];
    private readonly Dictionary<string, WarpCacheWarm> warms = [];
    private readonly Dictionary<string, V1Node> nodes = [];
    private readonly Dictionary<string, V1ConfigMap> configMaps = [];
    private readonly Dictionary<string, V1Secret> ownSecrets = [];
    private readonly Dictionary<string, V1Secret> tenantSecrets = [];
    private readonly Dictionary<string, V1Service> ownServices = [];
    private long version = 1;

    public List<string> Writes { get; } = [];

    public Dictionary<string, V1PersistentVolume> Volumes { get; } = [];

    public Dictionary<string, V1PersistentVolumeClaim> Claims { get; } = [];

    /// <summary>(namespace, claim) → pods mounting it.</summary>
    public Dictionary<(string, string), List<string>> PodsByClaim { get; } = [];

    public HashSet<string> ReadyAgents { get; } = [];

    public void Add(V1Node node) => nodes[node.Metadata.Name] = node;

    public void Add(WarpDataSource source)
    {
        source.Metadata.ResourceVersion = (version++).ToString(System.Globalization.CultureInfo.InvariantCulture);
        source.Metadata.Generation ??= 1;
        sources[Key(SourceNames.Namespace(source), source.Metadata.Name)] = source;
    }

    public void Add(WarpCacheWarm warm)
    {
        warm.Metadata.Generation ??= 1;
        warms[Key(warm.Metadata.NamespaceProperty!, warm.Metadata.Name)] = warm;
    }

    public void AddTenantSecret(V1Secret secret) => tenantSecrets[Key(secret.Metadata.NamespaceProperty, secret.Metadata.Name)] = secret;

    /// <summary>What <c>kubectl delete</c> does to an object with finalizers: only sets the deletion timestamp.</summary>
    public void MarkDeleted(string ns, string name)
    {
        var source = sources[Key(ns, name)];
        source.Metadata.DeletionTimestamp = new DateTime(2025, 2, 1, 0, 0, 0, DateTimeKind.Utc);
        if ((source.Metadata.Finalizers?.Count ?? 0) == 0)
        {
            sources.Remove(Key(ns, name));
        }
    }

    /// <summary>An agent's own status.nodes entry, as it would apply it.</summary>
    public void ReportWarmNode(string ns, string name, WarmNodeStatus entry)
    {
        var warm = warms[Key(ns, name)];
        warm.Status ??= new WarpCacheWarmStatus();
        var list = warm.Status.Nodes?.Where(n => n.Node != entry.Node).ToList() ?? [];
        list.Add(entry);
        warm.Status.Nodes = list;
    }

    /// <summary>An agent's own status.nodes entry of a source, as it would apply it.</summary>
    public void ReportSourceNode(string ns, string name, SourceNodeStatus entry)
    {
        var source = sources[Key(ns, name)];
        source.Status ??= new WarpDataSourceStatus();
        var list = source.Status.Nodes?.Where(n => n.Node != entry.Node).ToList() ?? [];
        list.Add(entry);
        source.Status.Nodes = list;
    }

    public IReadOnlyList<WarpDataSource> Sources() => [.. sources.Values];

    public WarpDataSource? Source(string ns, string name) => sources.GetValueOrDefault(Key(ns, name));

    public IReadOnlyList<WarpCacheWarm> Warms() => [.. warms.Values];

    public WarpCacheWarm? Warm(string ns, string name) => warms.GetValueOrDefault(Key(ns, name));

    public IReadOnlyList<V1Node> Nodes() => [.. nodes.Values];

    public V1ConfigMap? OwnConfigMap(string name) => configMaps.GetValueOrDefault(name);

    public V1Secret? OwnSecret(string name) => ownSecrets.GetValueOrDefault(name);

    public V1Service? OwnService(string name) => ownServices.GetValueOrDefault(name);

    /// <summary>A Service in the operator's namespace, as the chart creates it.</summary>
    public void AddOwnService(V1Service service) => ownServices[service.Metadata.Name] = service;

    public IReadOnlyDictionary<string, V1ConfigMap> ConfigMaps => configMaps;

    public Task ApplyConfigMapAsync(V1ConfigMap configMap, CancellationToken cancellationToken)
    {
        Record($"apply configmap {configMap.Metadata.Name}");
        configMaps[configMap.Metadata.Name] = Clone(configMap);
        return Task.CompletedTask;
    }

    public Task ApplySecretAsync(V1Secret secret, CancellationToken cancellationToken)
    {
        Record($"apply secret {secret.Metadata.Name}");
        ownSecrets[secret.Metadata.Name] = Clone(secret);
        return Task.CompletedTask;
    }

    public Task ApplyPersistentVolumeAsync(V1PersistentVolume volume, CancellationToken cancellationToken)
    {
        Record($"apply pv {volume.Metadata.Name}");
        Volumes[volume.Metadata.Name] = Clone(volume);
        return Task.CompletedTask;
    }

    public Task ApplyClaimAsync(V1PersistentVolumeClaim claim, CancellationToken cancellationToken)
    {
        Record($"apply pvc {claim.Metadata.NamespaceProperty}/{claim.Metadata.Name}");
        Claims[Key(claim.Metadata.NamespaceProperty, claim.Metadata.Name)] = Clone(claim);
        return Task.CompletedTask;
    }

    public Task DeletePersistentVolumeAsync(string name, CancellationToken cancellationToken)
    {
        Record($"delete pv {name}");
        Volumes.Remove(name);
        return Task.CompletedTask;
    }

    public Task DeleteClaimAsync(string ns, string name, CancellationToken cancellationToken)
    {
        Record($"delete pvc {ns}/{name}");
        Claims.Remove(Key(ns, name));
        return Task.CompletedTask;
    }

    public Task SetFinalizersAsync(WarpDataSource source, IList<string> finalizers, CancellationToken cancellationToken)
    {
        Record($"finalizers {SourceNames.Namespace(source)}/{source.Metadata.Name} [{string.Join(",", finalizers)}]");
        var key = Key(SourceNames.Namespace(source), source.Metadata.Name);
        var stored = sources[key];
        if (stored.Metadata.ResourceVersion != source.Metadata.ResourceVersion)
        {
            throw new InvalidOperationException("conflict: resourceVersion changed");
        }

        stored.Metadata.Finalizers = [.. finalizers];
        stored.Metadata.ResourceVersion = (version++).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (stored.Metadata.DeletionTimestamp is not null && finalizers.Count == 0)
        {
            sources.Remove(key);
        }

        return Task.CompletedTask;
    }

    public Task ApplySourceStatusAsync(WarpDataSource source, WarpDataSourceStatus status, CancellationToken cancellationToken)
    {
        Record($"status {SourceNames.Namespace(source)}/{source.Metadata.Name}");
        var stored = sources[Key(SourceNames.Namespace(source), source.Metadata.Name)];
        var copy = Clone(status);
        copy.Nodes = stored.Status?.Nodes; // owned by the agents' field managers
        stored.Status = copy;
        return Task.CompletedTask;
    }

    public Task ApplyWarmStatusAsync(WarpCacheWarm warm, WarpCacheWarmStatus status, CancellationToken cancellationToken)
    {
        Record($"warm status {warm.Metadata.NamespaceProperty}/{warm.Metadata.Name} {status.Phase}");
        var stored = warms[Key(warm.Metadata.NamespaceProperty!, warm.Metadata.Name)];
        var copy = Clone(status);
        copy.Nodes = stored.Status?.Nodes; // owned by the agents' field managers
        stored.Status = copy;
        return Task.CompletedTask;
    }

    public Task DeleteWarmAsync(WarpCacheWarm warm, CancellationToken cancellationToken)
    {
        Record($"delete warm {warm.Metadata.NamespaceProperty}/{warm.Metadata.Name}");
        warms.Remove(Key(warm.Metadata.NamespaceProperty!, warm.Metadata.Name));
        return Task.CompletedTask;
    }

    public Task<V1Secret?> GetSecretAsync(string ns, string name, CancellationToken cancellationToken) =>
        Task.FromResult(tenantSecrets.GetValueOrDefault(Key(ns, name)));

    public Task<IReadOnlyList<string>> PodsUsingClaimAsync(string ns, string claimName, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>(PodsByClaim.GetValueOrDefault((ns, claimName)) ?? []);

    public Task<IReadOnlySet<string>> NodesWithReadyAgentAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlySet<string>>(new HashSet<string>(ReadyAgents));

    public List<string> TakeWrites()
    {
        lock (gate)
        {
            var taken = Writes.ToList();
            Writes.Clear();
            return taken;
        }
    }

    private void Record(string write)
    {
        lock (gate)
        {
            Writes.Add(write);
        }
    }

    private static string Key(string? ns, string name) => $"{ns}/{name}";

    private static T Clone<T>(T value) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(value));
}

/// <summary>Records events instead of writing them (there is no API server here).</summary>
internal sealed class EventRecorderTestDouble : IEventRecorder
{
    public List<(string Type, string Object, string Reason, string Note)> Events { get; } = [];

    public void Normal(IKubernetesObject<V1ObjectMeta> regarding, string reason, string note) =>
        Events.Add(("Normal", regarding.Metadata.Name, reason, note));

    public void Warning(IKubernetesObject<V1ObjectMeta> regarding, string reason, string note) =>
        Events.Add(("Warning", regarding.Metadata.Name, reason, note));

    public IEnumerable<string> Reasons(string type) => Events.Where(e => e.Type == type).Select(e => e.Reason);
}
