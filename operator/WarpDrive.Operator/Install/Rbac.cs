using k8s.Models;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Install;

/// <summary>
/// The least-privilege rules of both service accounts. Why each rule exists is next to it; a rule without a reason
/// is a rule to remove. The install manifests and the Helm chart must grant the same (a test compares them).
/// </summary>
public static class Rbac
{
    public const string OperatorName = "warpdrive-operator";
    public const string NodeName = "warpdrive-node";

    private static readonly List<string> Read = ["get", "list", "watch"];

    /// <summary>Cluster-wide: the operator reconciles resources in every namespace.</summary>
    public static List<V1PolicyRule> OperatorClusterRules() =>
    [
        // The custom resources themselves, and the finalizer that removes a source's cluster-scoped PV.
        Rule(WarpDriveApi.Group, ["warpdatasources", "warpcachewarms"], [.. Read, "update", "patch"]),
        // Conditions, node counts, warm totals; delete only for finished warms past their TTL.
        Rule(WarpDriveApi.Group, ["warpdatasources/status", "warpcachewarms/status"], ["get", "update", "patch"]),
        Rule(WarpDriveApi.Group, ["warpcachewarms"], ["delete"]),
        // Owner references with blockOwnerDeletion need update on the owner's finalizers subresource.
        Rule(WarpDriveApi.Group, ["warpdatasources/finalizers"], ["update"]),
        // Which nodes a source selects (labels) and owner references from ConfigMaps to Nodes.
        Rule("", ["nodes"], Read),
        // The static PV per source (cluster-scoped) and its bound claim in the source's namespace.
        Rule("", ["persistentvolumes"], [.. Read, "create", "update", "patch", "delete"]),
        Rule("", ["persistentvolumeclaims"], [.. Read, "create", "update", "patch", "delete"]),
        // Secrets named by spec.auth.secretRef live in the sources' namespaces; read only, to mirror them.
        Rule("", ["secrets"], Read),
        // Tokens of the service accounts named by spec.auth.serviceAccountName, for federated auth.
        Rule("", ["serviceaccounts/token"], ["create"]),
        Rule("events.k8s.io", ["events"], ["create", "patch"]),
        // Before a deleted source's PV and claim go: which pods in its namespace still mount the claim. Also the
        // node agent pods' readiness (nodesReady). List only: no watch, no get of single pods.
        Rule("", ["pods"], ["list"]),
    ];

    /// <summary>Cluster-wide, only while the embedded governance control plane is enabled.</summary>
    public static List<V1PolicyRule> ControlPlaneClusterRules() =>
    [
        // TokenReview of the control plane's bearer tokens (Governance/TokenReviewValidator.cs). Create is the only
        // verb the API has; it reveals who a presented token belongs to and nothing else.
        Rule("authentication.k8s.io", ["tokenreviews"], ["create"]),
    ];

    /// <summary>In the operator's namespace only.</summary>
    public static List<V1PolicyRule> OperatorNamespaceRules() =>
    [
        // The per-node ConfigMaps.
        Rule("", ["configmaps"], [.. Read, "create", "update", "patch", "delete"]),
        // The mirrored credentials Secret (reading is already granted cluster-wide).
        Rule("", ["secrets"], ["create", "update", "patch", "delete"]),
        // Leader election.
        Rule("coordination.k8s.io", ["leases"], ["get", "create", "update"]),
    ];

    /// <summary>In the operator's namespace, only while the embedded governance control plane is enabled.</summary>
    public static List<V1PolicyRule> ControlPlaneNamespaceRules() =>
    [
        // The control plane Service's ClusterIP, rendered into every node config as the telemetry address: node
        // agents cannot count on cluster DNS (some clusters have none). Read only; one name is listed and watched.
        Rule("", ["services"], Read),
    ];

    /// <summary>Cluster-wide for the node agent: warm jobs live in users' namespaces.</summary>
    public static List<V1PolicyRule> NodeClusterRules() =>
    [
        // Find warm jobs for this node's sources...
        Rule(WarpDriveApi.Group, ["warpcachewarms"], Read),
        // ...and report this node's entry of status.nodes with server-side apply. Nothing else is writable.
        Rule(WarpDriveApi.Group, ["warpcachewarms/status"], ["patch"]),
        // What this node observes of each source's backend: its own status.nodes entry, by server-side apply on the
        // status subresource (patch only: no get, list or watch of sources, no write of their spec).
        Rule(WarpDriveApi.Group, ["warpdatasources/status"], ["patch"]),
        // Its own Node's labels, for a warm job's nodeSelector (RBAC cannot narrow get to one name per node).
        Rule("", ["nodes"], ["get"]),
        // Pod identity sources: the cloud annotations (role ARN, client id, GCP service account) of the service account
        // of a pod being published, one get by name per publish. Get only: no list or watch, so an agent cannot
        // enumerate the cluster's accounts; annotations hold no secrets.
        Rule("", ["serviceaccounts"], ["get"]),
    ];

    /// <summary>
    /// In the operator's namespace for the node agent: read its own ConfigMap (get, and watch with a
    /// metadata.name field selector, which RBAC authorizes as a request for that name). No list: an agent has no
    /// reason to enumerate other nodes' configurations.
    /// </summary>
    public static List<V1PolicyRule> NodeNamespaceRules() =>
    [
        Rule("", ["configmaps"], ["get", "watch"]),
    ];

    private static V1PolicyRule Rule(string group, List<string> resources, List<string> verbs) => new()
    {
        ApiGroups = [group],
        Resources = resources,
        Verbs = verbs,
    };
}
