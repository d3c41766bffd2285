using k8s.Models;
using WarpDrive.Operator.Install;

namespace WarpDrive.Operator.Tests.Controller;

/// <summary>Every API call of <c>warpdrive-operator run</c> (Kube/*.cs, Controller/LeaderElection.cs) is granted.</summary>
public sealed class RbacCoverageTests
{
    [TestCase("warpdrive.io", "warpdatasources", "list")]
    [TestCase("warpdrive.io", "warpdatasources", "watch")]
    [TestCase("warpdrive.io", "warpdatasources", "patch")] // finalizer JSON patch
    [TestCase("warpdrive.io", "warpdatasources/status", "patch")] // server-side apply of status
    [TestCase("warpdrive.io", "warpcachewarms", "watch")]
    [TestCase("warpdrive.io", "warpcachewarms/status", "patch")]
    [TestCase("warpdrive.io", "warpcachewarms", "delete")] // TTL
    [TestCase("", "nodes", "watch")]
    [TestCase("", "persistentvolumes", "patch")]
    [TestCase("", "persistentvolumes", "delete")]
    [TestCase("", "persistentvolumeclaims", "patch")]
    [TestCase("", "persistentvolumeclaims", "delete")]
    [TestCase("", "secrets", "get")] // tenants' Secrets named by secretRef
    [TestCase("", "pods", "list")] // pods still using a claim, in tenants' namespaces
    [TestCase("events.k8s.io", "events", "create")]
    public void Cluster_role_grants(string group, string resource, string verb) =>
        Assert.That(Grants(Rbac.OperatorClusterRules(), group, resource, verb), Is.True);

    [TestCase("", "configmaps", "list")]
    [TestCase("", "configmaps", "watch")]
    [TestCase("", "configmaps", "patch")]
    [TestCase("", "secrets", "patch")]
    [TestCase("coordination.k8s.io", "leases", "get")]
    [TestCase("coordination.k8s.io", "leases", "create")]
    [TestCase("coordination.k8s.io", "leases", "update")]
    public void Namespace_role_grants(string group, string resource, string verb) =>
        Assert.That(Grants(Rbac.OperatorNamespaceRules(), group, resource, verb), Is.True);

    [Test]
    public void Control_plane_role_grants_token_reviews_only() // Governance/TokenReviewValidator.cs
    {
        Assert.Multiple(() =>
        {
            Assert.That(Grants(Rbac.ControlPlaneClusterRules(), "authentication.k8s.io", "tokenreviews", "create"), Is.True);
            Assert.That(Rbac.ControlPlaneClusterRules().SelectMany(r => r.Verbs), Is.EqualTo(new[] { "create" }));
            Assert.That(Grants(Rbac.OperatorClusterRules(), "authentication.k8s.io", "tokenreviews", "create"), Is.False, "only granted with the control plane");
        });
    }

    [Test]
    public void The_control_plane_service_informer_may_list_and_watch_services_only_with_the_control_plane()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Grants(Rbac.ControlPlaneNamespaceRules(), "", "services", "list"), Is.True);
            Assert.That(Grants(Rbac.ControlPlaneNamespaceRules(), "", "services", "watch"), Is.True);
            Assert.That(Rbac.ControlPlaneNamespaceRules().SelectMany(r => r.Verbs), Is.EquivalentTo(new[] { "get", "list", "watch" }));
            Assert.That(Grants(Rbac.OperatorNamespaceRules(), "", "services", "list"), Is.False, "only granted with the control plane");
        });
    }

    [Test]
    public void The_node_agent_may_patch_source_status_and_nothing_else_of_sources() // Kubernetes/SourceStatusReporter.cs
    {
        var rules = Rbac.NodeClusterRules();
        Assert.Multiple(() =>
        {
            Assert.That(Grants(rules, "warpdrive.io", "warpdatasources/status", "patch"), Is.True);
            foreach (var verb in new[] { "get", "list", "watch", "update", "patch", "delete" })
            {
                Assert.That(Grants(rules, "warpdrive.io", "warpdatasources", verb), Is.False, verb);
            }

            Assert.That(Grants(rules, "warpdrive.io", "warpdatasources/status", "update"), Is.False);
        });
    }

    [Test]
    public void The_node_agent_cannot_write_config_maps()
    {
        // Why BackendReachable is reported in the source's status.nodes and not through ConfigMap annotations:
        // patch would let one node's agent rewrite every node's configuration.
        Assert.That(Grants(Rbac.NodeNamespaceRules(), "", "configmaps", "patch"), Is.False);
    }

    private static bool Grants(IEnumerable<V1PolicyRule> rules, string group, string resource, string verb) =>
        rules.Any(r => r.ApiGroups.Contains(group) && r.Resources.Contains(resource) && r.Verbs.Contains(verb));
}
