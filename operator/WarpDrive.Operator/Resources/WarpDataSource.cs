using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using k8s;
using k8s.Models;

namespace WarpDrive.Operator.Resources;

/// <summary>
/// A storage location (bucket, container, NFS path, rclone remote) offered to the pods of a cluster as a read-only
/// tree. The operator turns each one into a backend in the node config of every node it selects, and into a static
/// PersistentVolume plus a bound claim of the same name in its namespace.
/// </summary>
[KubernetesEntity(Group = WarpDriveApi.Group, ApiVersion = WarpDriveApi.Version, Kind = KindName, PluralName = "warpdatasources")]
[CustomResource("warpdatasource", "wds")]
[Description("A read-only data source served by WarpDrive on the nodes it selects.")]
[PrinterColumn(0, "Type", "string", ".spec.backend.type", Description = "Backend type.")]
[PrinterColumn(1, "Identity", "string", ".spec.auth.source", Description = "Whose identity reads the backend: node (the node agent's) or pod (each pod's own service account). Empty: node.")]
[PrinterColumn(2, "Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", Description = "Whether every selected node serves the source and reaches its backend.")]
[PrinterColumn(3, "Reachable", "string", ".status.conditions[?(@.type==\"BackendReachable\")].status", Description = "Whether the node agents reach the backend (True, False, Unknown until a node reports).")]
[PrinterColumn(4, "Ready Nodes", "integer", ".status.nodesReady", Description = "Nodes serving the source.")]
[PrinterColumn(5, "Total Nodes", "integer", ".status.nodesTotal", Priority = 1, Description = "Nodes the source selects.")]
[PrinterColumn(6, "Reason", "string", ".status.conditions[?(@.type==\"Ready\")].reason", Priority = 1, Description = "Why the source is (not) ready.")]
[PrinterColumn(7, "Cached", "integer", ".status.cachedBytes", Description = "Bytes of the source held in node caches.")]
[PrinterColumn(8, "Age", "date", ".metadata.creationTimestamp")]
[CelRule("self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 63",
    "metadata.name must be a DNS label (lower-case letters, digits and '-', at most 63 characters): it names a node backend and a PersistentVolumeClaim",
    Reason = "FieldValueInvalid")]
public sealed class WarpDataSource : IKubernetesObject<V1ObjectMeta>
{
    public const string KindName = "WarpDataSource";

    public string ApiVersion { get; set; } = WarpDriveApi.GroupVersion;

    public string Kind { get; set; } = KindName;

    public V1ObjectMeta Metadata { get; set; } = new();

    [Required]
    public WarpDataSourceSpec Spec { get; set; } = new();

    public WarpDataSourceStatus? Status { get; set; }
}

[Description("What to serve, how to authenticate, how to cache and where.")]
[CelRule("!has(self.auth) || !has(self.auth.source) || self.auth.source != 'pod' || !(self.auth.method in ['oidc_federation', 'workload_identity', 'gcp_wif'])"
    + " || (self.auth.method == 'oidc_federation' && self.backend.type == 's3')"
    + " || (self.auth.method == 'workload_identity' && self.backend.type == 'azureblob')"
    + " || (self.auth.method == 'gcp_wif' && self.backend.type == 'gcs')",
    "spec.auth.source pod federates each pod's token with the method of its backend type: oidc_federation for s3, workload_identity for azureblob, gcp_wif for gcs",
    FieldPath = ".auth.source", Reason = "FieldValueInvalid")]
public sealed class WarpDataSourceSpec
{
    [Required]
    public BackendSpec Backend { get; set; } = new();

    public AuthSpec? Auth { get; set; }

    public CacheSpec? Cache { get; set; }

    [Description("Only nodes carrying all these labels serve the source. Empty: every node.")]
    public IDictionary<string, string>? NodeSelector { get; set; }

    [Description("Namespaces whose pods may mount the source with a CSI inline volume, besides its own. '*' allows every namespace.")]
    [MaxLength(256)]
    public IList<string>? AllowedNamespaces { get; set; }
}

[Description("The storage behind the source, in the node agent's backend terms.")]
public sealed class BackendSpec
{
    [Required, Description("Kind of storage.")]
    [AllowedValues(BackendTypes.Local, BackendTypes.S3, BackendTypes.AzureBlob, BackendTypes.Gcs, BackendTypes.Rclone)]
    public string Type { get; set; } = "";

    [Description("Path below the node's mount point the source appears at. Default: /<namespace>/<name>.")]
    [RegularExpression(@"^(/[A-Za-z0-9._-]+)+$"), MaxLength(1024)]
    public string? MountPath { get; set; }

    [Description("Settings of the backend type (bucket, container, prefix, endpoint, root, …), as in the node agent's backends[].config. Never a secret: those go in auth.secretRef.")]
    public IDictionary<string, string>? Config { get; set; }
}

[Description("How nodes obtain credentials for the backend.")]
[CelRule("!(self.method in ['service_principal', 'static']) || has(self.secretRef)",
    "spec.auth.secretRef is required when spec.auth.method is service_principal or static",
    FieldPath = ".secretRef", Reason = "FieldValueRequired")]
[CelRule("self.method != 'workload_identity' || (has(self.source) && self.source == 'pod') || (has(self.serviceAccountName) && size(self.serviceAccountName) > 0)",
    "spec.auth.serviceAccountName is required when spec.auth.method is workload_identity (unless spec.auth.source is pod)",
    FieldPath = ".serviceAccountName", Reason = "FieldValueRequired")]
[CelRule("!has(self.source) || self.source != 'pod' || self.method in ['oidc_federation', 'workload_identity', 'gcp_wif']",
    "spec.auth.source pod needs spec.auth.method oidc_federation, workload_identity or gcp_wif: only a federation method can exchange the pod's service-account token",
    FieldPath = ".source", Reason = "FieldValueInvalid")]
[CelRule("!has(self.source) || self.source != 'pod' || !has(self.serviceAccountName)",
    "spec.auth.serviceAccountName must not be set when spec.auth.source is pod: each pod reads with its own service account",
    FieldPath = ".serviceAccountName", Reason = "FieldValueForbidden")]
public sealed class AuthSpec
{
    [Required, Description("Credential method, as in the node agent's backends[].auth.method.")]
    [AllowedValues(AuthMethods.ManagedIdentity, AuthMethods.ServicePrincipal, AuthMethods.WorkloadIdentity, AuthMethods.OidcFederation,
        AuthMethods.GcpWif, AuthMethods.StaticKeyVault, AuthMethods.Static, AuthMethods.None)]
    public string Method { get; set; } = AuthMethods.None;

    [Description("Whose identity reads the backend. node (default): the node agent's, from secretRef, serviceAccountName or the node's cloud identity; every pod allowed to mount the source reads with it. "
        + "pod: each mounting pod's own service-account token (sent by the kubelet, see the CSIDriver's tokenRequests) is federated with the method (oidc_federation, workload_identity, gcp_wif), "
        + "using the cloud annotations of the pod's service account (eks.amazonaws.com/role-arn, azure.workload.identity/client-id, iam.gke.io/gcp-service-account) or else settings; "
        + "cached bytes reach a pod only after its own identity was allowed to read the object.")]
    [AllowedValues(AuthSources.Node, AuthSources.Pod), SchemaDefault(AuthSources.Node)]
    public string? Source { get; set; }

    [Description("A Secret in the source's namespace. Each of its keys K reaches the node agent as the setting K_file, a path to a file holding the value.")]
    public SecretReference? SecretRef { get; set; }

    [Description("Service account in the source's namespace whose token the node agent federates (workload_identity, oidc_federation, gcp_wif).")]
    [RegularExpression(@"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), MaxLength(253)]
    public string? ServiceAccountName { get; set; }

    [Description("Non-secret settings of the method (tenant_id, client_id, role_arn, audience, key_vault_url, …).")]
    public IDictionary<string, string>? Settings { get; set; }
}

[Description("A Secret in the same namespace.")]
public sealed class SecretReference
{
    [Required, Description("Name of the Secret."), RegularExpression(@"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"), MaxLength(253)]
    public string Name { get; set; } = "";
}

[Description("Cache policy of the source on each node.")]
[CelRule("!has(self.share) || (double(self.share) >= 0.0 && double(self.share) <= 1.0)",
    "spec.cache.share must be between 0 and 1 (a fraction of the node cache)",
    FieldPath = ".share", Reason = "FieldValueInvalid")]
public sealed class CacheSpec
{
    [Description("Blocks fetched ahead of a sequential reader."), Range(0, 256)]
    public int? ReadaheadBlocks { get; set; }

    [Description("Keep the source's cached blocks out of eviction.")]
    public bool? Pin { get; set; }

    [Description("Largest fraction of the node cache the source may fill, 0..1.")]
    [Range(0.0, 1.0)]
    public double? Share { get; set; }

    [Description("How long listings and attributes of the source are trusted, e.g. 30s, 5m, 1h30m.")]
    [RegularExpression(@"^(0|([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+)$")]
    public string? MetadataTtl { get; set; }
}

[Description("What the operator and the nodes observed.")]
public sealed class WarpDataSourceStatus
{
    [ListMap("type")]
    public IList<StatusCondition>? Conditions { get; set; }

    [Description("The .metadata.generation this status describes.")]
    public long? ObservedGeneration { get; set; }

    [Description("Selected nodes whose agent serves the source.")]
    public int? NodesReady { get; set; }

    [Description("One entry per node, written by that node's agent (its own field manager): what it observed of the backend. The operator sums them up into the BackendReachable condition."), ListMap("node")]
    public IList<SourceNodeStatus>? Nodes { get; set; }

    [Description("Nodes the source selects.")]
    public int? NodesTotal { get; set; }

    [Description("Bytes of the source held in node caches, summed over nodes.")]
    public long? CachedBytes { get; set; }

    [Description("Objects found in the source by the last crawl.")]
    public long? SourceObjects { get; set; }

    [Description("Bytes found in the source by the last crawl.")]
    public long? SourceBytes { get; set; }

    [Description("When the source was last crawled."), SchemaFormat("date-time")]
    public DateTime? LastCrawlTime { get; set; }
}

[Description("What one node's agent observed of the source's backend at its last probe.")]
public sealed class SourceNodeStatus
{
    [Required, Description("Node name."), MaxLength(253)]
    public string Node { get; set; } = "";

    [Required, Description("Whether the agent listed the backend and read from it.")]
    public bool Reachable { get; set; }

    [Required, Description("CamelCase cause: Reachable, AccessDenied, NotFound, Timeout, Unreachable, Throttled, SetupFailed or BackendError."), MinLength(1), MaxLength(64)]
    [RegularExpression(@"^[A-Za-z][A-Za-z0-9]*$")]
    public string Reason { get; set; } = "";

    [Description("One sentence for people; never an exception's text or a secret."), MaxLength(1024)]
    public string? Message { get; set; }

    [Description("When this node's observation last changed."), SchemaFormat("date-time")]
    public DateTime? LastTransitionTime { get; set; }
}
