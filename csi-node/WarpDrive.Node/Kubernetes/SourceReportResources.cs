using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace WarpDrive.Node.Kubernetes;

/// <summary>
/// Where WarpDataSource lives in the API, and the node's own minimal copy of the status entry it writes (the node
/// does not reference the operator; <c>SourceReportResourcesCrdTests</c> holds these to the generated CRD).
/// </summary>
public static class SourceReportApi
{
    public const string Group = "warpdrive.io";
    public const string Version = "v1alpha1";
    public const string Kind = "WarpDataSource";
    public const string Plural = "warpdatasources";

    /// <summary>The same per-node field manager as for warm jobs: agents never take over each other's entries.</summary>
    public static string FieldManager(string node) => WarmJobApi.FieldManager(node);
}

/// <summary>A WarpDataSource as the node applies it: name, namespace and this node's <c>status.nodes[]</c> entry only.</summary>
[KubernetesEntity(Group = SourceReportApi.Group, ApiVersion = SourceReportApi.Version, Kind = SourceReportApi.Kind, PluralName = SourceReportApi.Plural)]
public sealed class SourceReport : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{SourceReportApi.Group}/{SourceReportApi.Version}";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = SourceReportApi.Kind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("status")]
    public SourceReportStatus Status { get; set; } = new();
}

/// <summary>The part of a WarpDataSource's status a node writes.</summary>
public sealed class SourceReportStatus
{
    /// <summary>A list-map keyed by <c>node</c>; null sends <c>status: {}</c>, which gives up this node's entry.</summary>
    [JsonPropertyName("nodes")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IList<SourceNodeEntry>? Nodes { get; set; }
}

/// <summary>One node's observation of a source's backend.</summary>
public sealed record SourceNodeEntry
{
    [JsonPropertyName("node")]
    public string Node { get; init; } = "";

    [JsonPropertyName("reachable")]
    public bool Reachable { get; init; }

    /// <summary>CamelCase (<see cref="Hosting.ProbeReasons"/>).</summary>
    [JsonPropertyName("reason")]
    public string Reason { get; init; } = "";

    /// <summary>A sentence of our own (<see cref="Hosting.ProbeOutcome"/>): never an exception's text or a secret.</summary>
    [JsonPropertyName("message")]
    public string? Message { get; init; }

    /// <summary>When this node's observation last changed.</summary>
    [JsonPropertyName("lastTransitionTime")]
    public DateTime? LastTransitionTime { get; init; }
}
