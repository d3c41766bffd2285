using System.Diagnostics;
using k8s;
using k8s.Models;
using WarpDrive.Operator.Install;

namespace WarpDrive.Operator.Tests;

public sealed class InstallManifestTests
{
    private static List<object> objects = [];

    /// <summary>Runs the real <c>warpdrive-operator manifests</c> and parses its output back with the client's loader.</summary>
    [OneTimeSetUp]
    public static async Task RenderWithTheCli() =>
        objects = KubernetesYaml.LoadAllFromString(
            await RunCliAsync("manifests", "--namespace", "wd-test", "--image", "example.com/op:1", "--node-image", "example.com/node:1"), strict: true);

    /// <summary>Runs the real <c>warpdrive-operator</c> with these arguments; its standard output, after a zero exit.</summary>
    private static async Task<string> RunCliAsync(params string[] arguments)
    {
        var dll = typeof(InstallManifests).Assembly.Location;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[dll, .. arguments])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        Assert.That(process.ExitCode, Is.Zero, await stderr);
        return await stdout;
    }

    private static T Single<T>(string name) => objects.OfType<T>().Single(o => ((IMetadata<V1ObjectMeta>)o!).Metadata.Name == name);

    [Test]
    public void Output_is_the_expected_list_of_kubernetes_objects()
    {
        var kinds = objects.Select(o => $"{((IKubernetesObject)o).Kind}/{((IMetadata<V1ObjectMeta>)o).Metadata.Name}").ToList();
        Assert.That(kinds, Is.EquivalentTo(new[]
        {
            "CustomResourceDefinition/warpdatasources.warpdrive.io",
            "CustomResourceDefinition/warpcachewarms.warpdrive.io",
            "Namespace/wd-test",
            "ServiceAccount/warpdrive-operator",
            "ServiceAccount/warpdrive-node",
            "ClusterRole/warpdrive-operator",
            "ClusterRoleBinding/warpdrive-operator",
            "Role/warpdrive-operator",
            "RoleBinding/warpdrive-operator",
            "ClusterRole/warpdrive-node",
            "ClusterRoleBinding/warpdrive-node",
            "Role/warpdrive-node",
            "RoleBinding/warpdrive-node",
            "CSIDriver/csi.warpdrive.io",
            "PersistentVolumeClaim/warpdrive-control-plane",
            "Service/warpdrive-control-plane",
            "Deployment/warpdrive-operator",
            "DaemonSet/warpdrive-node",
        }));
        foreach (var namespaced in objects.OfType<IMetadata<V1ObjectMeta>>().Where(o => o.Metadata.NamespaceProperty is not null))
        {
            Assert.That(namespaced.Metadata.NamespaceProperty, Is.EqualTo("wd-test"));
        }
    }

    [Test]
    public void Node_agent_can_only_read_its_configmaps_node_and_service_accounts_and_report_warm_and_source_status()
    {
        var cluster = Single<V1ClusterRole>("warpdrive-node").Rules;
        var local = Single<V1Role>("warpdrive-node").Rules;

        Assert.Multiple(() =>
        {
            Assert.That(Grants(cluster), Is.EquivalentTo(new[]
            {
                "warpdrive.io/warpcachewarms:get", "warpdrive.io/warpcachewarms:list", "warpdrive.io/warpcachewarms:watch",
                "warpdrive.io/warpcachewarms/status:patch", "warpdrive.io/warpdatasources/status:patch", "/nodes:get",
                // Pod identity: a published pod's service account annotations, by name. Never list or watch.
                "/serviceaccounts:get",
            }));
            Assert.That(Grants(local), Is.EquivalentTo(new[] { "/configmaps:get", "/configmaps:watch" }));
        });
    }

    [Test]
    public void Operator_reads_secrets_cluster_wide_but_writes_them_only_in_its_namespace()
    {
        var cluster = Grants(Single<V1ClusterRole>("warpdrive-operator").Rules);
        var local = Grants(Single<V1Role>("warpdrive-operator").Rules);

        Assert.Multiple(() =>
        {
            Assert.That(cluster.Where(g => g.StartsWith("/secrets:", StringComparison.Ordinal)), Is.EquivalentTo(new[] { "/secrets:get", "/secrets:list", "/secrets:watch" }));
            Assert.That(local, Does.Contain("/secrets:create").And.Contain("/configmaps:create").And.Contain("coordination.k8s.io/leases:update"));
            Assert.That(cluster, Does.Contain("/persistentvolumes:create").And.Contain("warpdrive.io/warpdatasources/status:patch"));
            Assert.That(cluster, Does.Not.Contain("/configmaps:create"), "ConfigMaps are written in the operator's namespace only");
        });
    }

    [Test]
    public void No_rule_uses_wildcards_and_bindings_point_at_the_right_accounts()
    {
        var rules = objects.OfType<V1ClusterRole>().SelectMany(r => r.Rules).Concat(objects.OfType<V1Role>().SelectMany(r => r.Rules)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(rules.SelectMany(r => r.Verbs.Concat(r.Resources).Concat(r.ApiGroups)), Has.None.EqualTo("*"));
            foreach (var binding in objects.OfType<V1ClusterRoleBinding>())
            {
                Assert.That(binding.RoleRef.Name, Is.EqualTo(binding.Metadata.Name));
                Assert.That(binding.Subjects.Single().Name, Is.EqualTo(binding.Metadata.Name));
                Assert.That(binding.Subjects.Single().NamespaceProperty, Is.EqualTo("wd-test"));
            }

            foreach (var binding in objects.OfType<V1RoleBinding>())
            {
                Assert.That((binding.RoleRef.Kind, binding.RoleRef.Name), Is.EqualTo(("Role", binding.Metadata.Name)));
            }
        });
    }

    [Test]
    public void Csi_driver_is_attach_free_with_pod_info_and_both_lifecycle_modes()
    {
        var driver = Single<V1CSIDriver>("csi.warpdrive.io");
        Assert.Multiple(() =>
        {
            Assert.That(driver.Spec.AttachRequired, Is.False);
            Assert.That(driver.Spec.PodInfoOnMount, Is.True);
            Assert.That(driver.Spec.VolumeLifecycleModes, Is.EquivalentTo(new[] { "Persistent", "Ephemeral" }));
        });
    }

    [Test]
    public void Csi_driver_asks_the_kubelet_for_sts_and_entra_tokens_and_republish()
    {
        var driver = Single<V1CSIDriver>("csi.warpdrive.io");
        Assert.Multiple(() =>
        {
            Assert.That(driver.Spec.RequiresRepublish, Is.True, "tokens expire: the kubelet must publish again with fresh ones");
            Assert.That(driver.Spec.TokenRequests.Select(t => (t.Audience, t.ExpirationSeconds)), Is.EqualTo(new[]
            {
                ("sts.amazonaws.com", (long?)3600), ("api://AzureADTokenExchange", (long?)3600),
            }));
        });
    }

    [Test]
    public async Task Token_audience_adds_a_gcp_pool_audience_to_the_defaults_once()
    {
        const string pool = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/k8s/providers/oidc";
        var output = await RunCliAsync("manifests", "--token-audience", pool, "--token-audience", "sts.amazonaws.com");
        var driver = KubernetesYaml.LoadAllFromString(output, strict: true).OfType<V1CSIDriver>().Single();

        Assert.That(driver.Spec.TokenRequests.Select(t => t.Audience), Is.EqualTo(new[] { "sts.amazonaws.com", "api://AzureADTokenExchange", pool }),
            "the defaults stay, the pool is added, a repeated audience appears once (the API server refuses duplicates)");
    }

    [Test]
    public void Node_daemonset_runs_a_privileged_agent_with_fuse_propagation_registrar_and_probe()
    {
        var spec = Single<V1DaemonSet>("warpdrive-node").Spec.Template.Spec;
        var agent = spec.Containers.Single(c => c.Name == "agent");
        var registrar = spec.Containers.Single(c => c.Name == "node-driver-registrar");
        var hostPaths = spec.Volumes.Where(v => v.HostPath is not null).ToDictionary(v => v.Name, v => v.HostPath.Path);
        var mounts = agent.VolumeMounts.ToDictionary(m => m.Name);

        Assert.Multiple(() =>
        {
            Assert.That(spec.ServiceAccountName, Is.EqualTo("warpdrive-node"));
            Assert.That(agent.Image, Is.EqualTo("example.com/node:1"));
            Assert.That(agent.SecurityContext.Privileged, Is.True);
            Assert.That(spec.HostPID, Is.True, "readers' pids and /proc/<pid>/cgroup are visible only in the host's pid namespace");
            Assert.That(agent.Args, Is.EqualTo(new[] { "csi", "--endpoint", "unix:///csi/csi.sock", "--node-id", "$(NODE_NAME)", "--kube", "--fd-holder", "/csi/holders/$(POD_UID).sock" }));
            Assert.That(agent.Env.Single(e => e.Name == "NODE_NAME").ValueFrom.FieldRef.FieldPath, Is.EqualTo("spec.nodeName"));
            Assert.That(hostPaths["fuse-device"], Is.EqualTo("/dev/fuse"));
            Assert.That(hostPaths["kubelet-dir"], Is.EqualTo("/var/lib/kubelet"));
            Assert.That(mounts["kubelet-dir"].MountPropagation, Is.EqualTo("Bidirectional"));
            Assert.That(mounts["credentials"].MountPath, Is.EqualTo("/var/run/warpdrive/secrets"));
            Assert.That(mounts["config"].MountPath, Is.EqualTo("/etc/warpdrive"), "csi --kube writes its ConfigMap's copy to --config's default place");
            Assert.That(spec.Volumes.Single(v => v.Name == "config").EmptyDir, Is.Not.Null);
            Assert.That(agent.LivenessProbe.HttpGet.Path, Is.EqualTo("/healthz"));
            Assert.That(agent.LivenessProbe.HttpGet.Port.Value, Is.EqualTo("9090"));
            Assert.That(registrar.Image, Does.StartWith("registry.k8s.io/sig-storage/csi-node-driver-registrar:"));
            Assert.That(registrar.Args, Does.Contain("--kubelet-registration-path=/var/lib/kubelet/plugins/csi.warpdrive.io/csi.sock"));
            Assert.That(hostPaths["registration-dir"], Is.EqualTo("/var/lib/kubelet/plugins_registry"));
        });
    }

    [Test]
    public void Node_daemonset_keeps_mounts_across_agent_crashes_and_upgrades()
    {
        var daemonSet = Single<V1DaemonSet>("warpdrive-node");
        var spec = daemonSet.Spec.Template.Spec;
        var agent = spec.Containers.Single(c => c.Name == "agent");
        var holder = spec.Containers.Single(c => c.Name == "fd-holder");
        Assert.Multiple(() =>
        {
            Assert.That(holder.Image, Is.EqualTo(agent.Image), "the holder is the agent's own binary");
            Assert.That(holder.Args, Is.EqualTo(new[] { "fd-holder", "--socket", "/csi/holders/$(POD_UID).sock" }), "the socket the agent's --fd-holder names");
            Assert.That(holder.Env.Single(e => e.Name == "POD_UID").ValueFrom.FieldRef.FieldPath, Is.EqualTo("metadata.uid"));
            Assert.That(holder.VolumeMounts.Single().Name, Is.EqualTo("plugin-dir"), "the holders of all pods on a node share one directory");
            Assert.That(holder.SecurityContext.Privileged, Is.Not.True);
            Assert.That(holder.SecurityContext.Capabilities.Drop, Is.EqualTo(new[] { "ALL" }));
            Assert.That(daemonSet.Spec.UpdateStrategy.RollingUpdate.MaxSurge.Value, Is.EqualTo("1"), "the new pod starts beside the old one");
            Assert.That(daemonSet.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable.Value, Is.EqualTo("0"));
            Assert.That(agent.ReadinessProbe.HttpGet.Path, Is.EqualTo("/healthz"), "the old pod goes only once the new agent serves");
        });
    }

    [Test]
    public void Operator_deployment_runs_unprivileged_with_its_account_and_image()
    {
        var pod = Single<V1Deployment>("warpdrive-operator").Spec.Template.Spec;
        var container = pod.Containers.Single();
        Assert.Multiple(() =>
        {
            Assert.That(pod.ServiceAccountName, Is.EqualTo("warpdrive-operator"));
            Assert.That(container.Image, Is.EqualTo("example.com/op:1"));
            Assert.That(pod.SecurityContext.RunAsNonRoot, Is.True);
            Assert.That(container.SecurityContext.AllowPrivilegeEscalation, Is.False);
            Assert.That(container.Args, Does.Contain("wd-test"));
        });
    }

    [Test]
    public void Operator_may_create_token_reviews_and_nothing_else_of_authentication()
    {
        var cluster = Grants(Single<V1ClusterRole>("warpdrive-operator").Rules);
        Assert.That(cluster.Where(g => g.StartsWith("authentication.k8s.io/", StringComparison.Ordinal)),
            Is.EqualTo(new[] { "authentication.k8s.io/tokenreviews:create" }));
    }

    [Test]
    public void Node_agent_gets_a_projected_token_for_the_control_plane_audience_only()
    {
        var spec = Single<V1DaemonSet>("warpdrive-node").Spec.Template.Spec;
        var projection = spec.Volumes.Single(v => v.Name == "control-plane-token").Projected.Sources.Single().ServiceAccountToken;
        var mount = spec.Containers.Single(c => c.Name == "agent").VolumeMounts.Single(m => m.Name == "control-plane-token");
        Assert.Multiple(() =>
        {
            Assert.That(projection.Audience, Is.EqualTo("warpdrive-control-plane"));
            Assert.That(projection.ExpirationSeconds, Is.EqualTo(3600));
            Assert.That(mount.MountPath + "/" + projection.Path, Is.EqualTo("/var/run/secrets/warpdrive/control-plane/token"));
            Assert.That(mount.ReadOnlyProperty, Is.True);
        });
    }

    [Test]
    public void Control_plane_service_reaches_the_single_operator_pod_on_persistent_sqlite()
    {
        var service = Single<V1Service>("warpdrive-control-plane");
        var deployment = Single<V1Deployment>("warpdrive-operator");
        var pod = deployment.Spec.Template;
        var container = pod.Spec.Containers.Single();
        var args = container.Args.ToList();
        Assert.Multiple(() =>
        {
            Assert.That(service.Spec.Selector, Is.EquivalentTo(pod.Metadata.Labels));
            Assert.That(service.Spec.Ports.Single().Port, Is.EqualTo(8090));
            Assert.That(container.Ports.Select(p => p.Name), Does.Contain(service.Spec.Ports.Single().TargetPort.Value));
            Assert.That(args[args.IndexOf("--control-plane-addr") + 1], Is.EqualTo(":8090"));
            Assert.That(args[args.IndexOf("--control-plane-database") + 1], Is.EqualTo("sqlite:///var/lib/warpdrive-control-plane/control-plane.db"));
            Assert.That(container.VolumeMounts.Single(m => m.Name == "control-plane-data").MountPath, Is.EqualTo("/var/lib/warpdrive-control-plane"));
            Assert.That(container.VolumeMounts.Single(m => m.Name == "tmp").MountPath, Is.EqualTo("/tmp"), "read-only root: SQLite's temp files");
            Assert.That(pod.Spec.Volumes.Single(v => v.Name == "control-plane-data").PersistentVolumeClaim.ClaimName,
                Is.EqualTo(Single<V1PersistentVolumeClaim>("warpdrive-control-plane").Metadata.Name));
            Assert.That(deployment.Spec.Replicas, Is.EqualTo(1), "SQLite: one replica");
            Assert.That(deployment.Spec.Strategy.Type, Is.EqualTo("Recreate"));
        });
    }

    [Test]
    public void Without_the_control_plane_there_is_no_token_review_grant_service_or_token_and_two_replicas()
    {
        var all = InstallManifests.Build(new InstallSettings { ControlPlane = false });
        var rules = Grants(all.OfType<V1ClusterRole>().Single(r => r.Metadata.Name == "warpdrive-operator").Rules);
        var deployment = all.OfType<V1Deployment>().Single();
        Assert.Multiple(() =>
        {
            Assert.That(rules, Does.Not.Contain("authentication.k8s.io/tokenreviews:create"));
            Assert.That(all.OfType<V1Service>(), Is.Empty);
            Assert.That(all.OfType<V1DaemonSet>().Single().Spec.Template.Spec.Volumes.Select(v => v.Name), Does.Not.Contain("control-plane-token"));
            Assert.That(deployment.Spec.Replicas, Is.EqualTo(2));
            Assert.That(deployment.Spec.Template.Spec.Containers.Single().Args, Does.Contain("--control-plane-addr").And.Contain(""));
        });
    }

    private static List<string> Grants(IEnumerable<V1PolicyRule> rules) =>
        rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}/{res}:{v}")))).ToList();
}
