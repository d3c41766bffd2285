using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using k8s;
using k8s.Models;

namespace WarpDrive.Operator.Resources;

/// <summary>
/// A job that pre-fetches prefixes of a WarpDataSource into the block cache of the nodes it selects. Each node agent
/// reports its own entry of <c>status.nodes</c> (server-side apply, keyed by node); the operator sums them up.
/// </summary>
[KubernetesEntity(Group = WarpDriveApi.Group, ApiVersion = WarpDriveApi.Version, Kind = KindName, PluralName = "warpcachewarms")]
[CustomResource("warpcachewarm", "wcw")]
[Description("Pre-fetches parts of a WarpDataSource into node caches.")]
[PrinterColumn(0, "Source", "string", ".spec.source", Priority = 1)]
[PrinterColumn(1, "Phase", "string", ".status.phase", Description = "Pending, Running, Succeeded or Failed.")]
[PrinterColumn(2, "Progress", "string", ".status.progress", Description = "Files done / files total over all nodes.")]
[PrinterColumn(3, "Age", "date", ".metadata.creationTimestamp")]
public sealed class WarpCacheWarm : IKubernetesObject<V1ObjectMeta>
{
    public const string KindName = "WarpCacheWarm";

    public string ApiVersion { get; set; } = WarpDriveApi.GroupVersion;

    public string Kind { get; set; } = KindName;

    public V1ObjectMeta Metadata { get; set; } = new();

    [Required]
    public WarpCacheWarmSpec Spec { get; set; } = new();

    public WarpCacheWarmStatus? Status { get; set; }
}

[Description("What to warm, where, and how hard.")]
[CelRule("has(self.paths) && size(self.paths) > 0",
    "spec.paths must list at least one prefix to warm",
    FieldPath = ".paths", Reason = "FieldValueRequired")]
public sealed class WarpCacheWarmSpec
{
    [Required, Description("Name of a WarpDataSource in the same namespace."), RegularExpression(@"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), MaxLength(63)]
    public string Source { get; set; } = "";

    [Required, Description("Prefixes below the source's root to fetch, e.g. train/shard-00 (a directory or a file)."), MaxLength(1024)]
    public IList<string> Paths { get; set; } = [];

    [Description("Warm only on nodes with all these labels (and selected by the source). Empty: every node of the source.")]
    public IDictionary<string, string>? NodeSelector { get; set; }

    [Description("Parallel fetches per node."), Range(1, 256)]
    public int? Workers { get; set; }

    [Description("Stop after this many bytes per node, as a Kubernetes quantity (e.g. 500Gi).")]
    [RegularExpression(@"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")]
    public string? MaxSize { get; set; }

    [Description("Team whose quota this warm counts against: each node asks the control plane first and fails the job if it would pass the team's hard limit on the source. Unset: no check.")]
    [RegularExpression(@"^[A-Za-z0-9][-A-Za-z0-9_.:@]*$"), MaxLength(200)]
    public string? Team { get; set; }

    [Description("Delete the job this many seconds after it succeeded or failed. Unset: keep it.")]
    [Range(0, int.MaxValue)]
    public int? TtlSecondsAfterFinished { get; set; }
}

[Description("Progress per node and in total.")]
public sealed class WarpCacheWarmStatus
{
    [Description("Pending, Running, Succeeded or Failed: Failed if a node failed, Succeeded when every node succeeded.")]
    [AllowedValues(WarmPhases.Pending, WarmPhases.Running, WarmPhases.Succeeded, WarmPhases.Failed)]
    public string? Phase { get; set; }

    [Description("filesDone/filesTotal over every node, for kubectl get.")]
    public string? Progress { get; set; }

    [Description("One entry per node, written by that node's agent."), ListMap("node")]
    public IList<WarmNodeStatus>? Nodes { get; set; }

    public WarmTotals? Totals { get; set; }

    [Description("When the first node started."), SchemaFormat("date-time")]
    public DateTime? StartTime { get; set; }

    [Description("When the job reached Succeeded or Failed."), SchemaFormat("date-time")]
    public DateTime? CompletionTime { get; set; }

    [Description("The .metadata.generation this status describes.")]
    public long? ObservedGeneration { get; set; }

    [ListMap("type")]
    public IList<StatusCondition>? Conditions { get; set; }
}

[Description("One node's progress.")]
public sealed class WarmNodeStatus
{
    [Required, Description("Node name."), MaxLength(253)]
    public string Node { get; set; } = "";

    [Required, AllowedValues(WarmPhases.Pending, WarmPhases.Running, WarmPhases.Succeeded, WarmPhases.Failed)]
    public string Phase { get; set; } = WarmPhases.Pending;

    [Range(0, long.MaxValue)]
    public long? FilesDone { get; set; }

    [Range(0, long.MaxValue)]
    public long? FilesTotal { get; set; }

    [Range(0, long.MaxValue)]
    public long? BytesDone { get; set; }

    [Description("Current fetch rate in MB/s."), Range(0.0, double.MaxValue)]
    public double? MbPerSecond { get; set; }

    [Description("Why the node failed; never holds a secret."), MaxLength(4096)]
    public string? Error { get; set; }
}

[Description("Sums over every node.")]
public sealed class WarmTotals
{
    public long FilesDone { get; set; }

    public long FilesTotal { get; set; }

    public long BytesDone { get; set; }

    public double MbPerSecond { get; set; }

    [Description("Nodes in each phase.")]
    public int NodesSucceeded { get; set; }

    public int NodesFailed { get; set; }

    public int NodesRunning { get; set; }

    public int NodesPending { get; set; }
}
