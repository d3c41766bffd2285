using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace WarpDrive.Node.Kubernetes;

/// <summary>
/// Where WarpCacheWarm lives in the API. The operator's C# types are the source of the CRD; the node does not
/// reference the operator, so it keeps its own minimal copy of the few fields it reads and writes (a test compares
/// them with the generated CRD in <c>crds/</c>).
/// </summary>
public static class WarmJobApi
{
    public const string Group = "warpdrive.io";
    public const string Version = "v1alpha1";
    public const string Kind = "WarpCacheWarm";
    public const string Plural = "warpcachewarms";

    /// <summary>Each agent applies its entry with its own field manager, so agents never take over each other's entries.</summary>
    public static string FieldManager(string node) => $"warpdrive-node/{node}";
}

/// <summary>The phases of one node's entry (the CRD's enum).</summary>
public static class WarmNodePhases
{
    public const string Pending = "Pending";
    public const string Running = "Running";
    public const string Succeeded = "Succeeded";
    public const string Failed = "Failed";

    public static bool IsFinished(string? phase) => phase is Succeeded or Failed;
}

/// <summary>The node's view of a WarpCacheWarm: what it reads of the spec, and the status entries.</summary>
[KubernetesEntity(Group = WarmJobApi.Group, ApiVersion = WarmJobApi.Version, Kind = WarmJobApi.Kind, PluralName = WarmJobApi.Plural)]
public sealed class WarmJob : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{WarmJobApi.Group}/{WarmJobApi.Version}";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = WarmJobApi.Kind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public WarmJobSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public WarmJobStatus? Status { get; set; }

    /// <summary><c>namespace/name</c>: one job at a time may carry a name; the uid tells re-creations apart.</summary>
    [JsonIgnore]
    public string Key => $"{Metadata.NamespaceProperty}/{Metadata.Name}";
}

/// <summary>The spec fields a node acts on.</summary>
public sealed class WarmJobSpec
{
    /// <summary>A WarpDataSource in the job's namespace; its backend on this node is <c>&lt;namespace&gt;-&lt;source&gt;</c>.</summary>
    [JsonPropertyName("source")]
    public string Source { get; set; } = "";

    [JsonPropertyName("paths")]
    public IList<string> Paths { get; set; } = [];

    [JsonPropertyName("nodeSelector")]
    public IDictionary<string, string>? NodeSelector { get; set; }

    [JsonPropertyName("workers")]
    public int? Workers { get; set; }

    /// <summary>A Kubernetes quantity (e.g. <c>500Gi</c>): stop after this many bytes downloaded on this node.</summary>
    [JsonPropertyName("maxSize")]
    public string? MaxSize { get; set; }

    /// <summary>The team whose quota the job counts against; the node asks the control plane before it warms.</summary>
    [JsonPropertyName("team")]
    public string? Team { get; set; }
}

/// <summary>The only part of the status a node reads or writes.</summary>
public sealed class WarmJobStatus
{
    /// <summary>A list-map keyed by <c>node</c>: each agent owns its own entry through server-side apply.</summary>
    [JsonPropertyName("nodes")]
    public IList<WarmNodeEntry>? Nodes { get; set; }
}

/// <summary>One node's progress, as this node's agent reports it.</summary>
public sealed record WarmNodeEntry
{
    /// <summary>The CRD's limit on <see cref="Error"/>.</summary>
    public const int MaxErrorLength = 4096;

    [JsonPropertyName("node")]
    public string Node { get; init; } = "";

    [JsonPropertyName("phase")]
    public string Phase { get; init; } = WarmNodePhases.Pending;

    [JsonPropertyName("filesDone")]
    public long? FilesDone { get; init; }

    [JsonPropertyName("filesTotal")]
    public long? FilesTotal { get; init; }

    /// <summary>Bytes this node downloaded for the job (blocks already cached are not counted again).</summary>
    [JsonPropertyName("bytesDone")]
    public long? BytesDone { get; init; }

    [JsonPropertyName("mbPerSecond")]
    public double? MbPerSecond { get; init; }

    /// <summary>Why the node failed; built from messages that never carry credentials.</summary>
    [JsonPropertyName("error")]
    public string? Error { get; init; }
}

/// <summary>A list of WarpCacheWarms, shaped like every Kubernetes list.</summary>
public sealed class WarmJobList : IKubernetesObject<V1ListMeta>, IItems<WarmJob>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{WarmJobApi.Group}/{WarmJobApi.Version}";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "List";

    [JsonPropertyName("metadata")]
    public V1ListMeta Metadata { get; set; } = new();

    [JsonPropertyName("items")]
    public IList<WarmJob> Items { get; set; } = [];
}
