using System.Text.RegularExpressions;
using k8s;
using k8s.Models;
using WarpDrive.Operator.Install;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;
using YamlDotNet.RepresentationModel;

namespace WarpDrive.Operator.Tests;

/// <summary>
/// Checks on the Helm chart and the examples that need no cluster. Debian has no helm package, so the chart is not
/// rendered by helm here: files without template syntax are parsed as they are, and a few templates are filled in by
/// <see cref="HelmTemplateStandIn"/>, which understands only the two expressions those templates use.
/// </summary>
public sealed partial class ChartAndExampleTests
{
    private static readonly Dictionary<string, Type> CustomTypes = new()
    {
        ["warpdrive.io/v1alpha1/WarpDataSource"] = typeof(WarpDataSource),
        ["warpdrive.io/v1alpha1/WarpCacheWarm"] = typeof(WarpCacheWarm),
    };

    private static string Chart(params string[] parts) => RepoPaths.Of(["charts", "warpdrive", .. parts]);

    [Test]
    public void Chart_crds_are_identical_to_the_generated_ones()
    {
        foreach (var crd in CrdGenerator.All())
        {
            var name = CrdGenerator.FileName(crd);
            Assert.That(File.ReadAllText(Chart("crds", name)), Is.EqualTo(File.ReadAllText(RepoPaths.Of("crds", name))),
                $"charts/warpdrive/crds/{name} differs from crds/{name}: copy it (cp crds/*.yaml charts/warpdrive/crds/)");
        }

        Assert.That(Directory.GetFiles(Chart("crds")).Select(Path.GetFileName).Order(),
            Is.EqualTo(CrdGenerator.All().Select(CrdGenerator.FileName).Order()));
    }

    [Test]
    public void Chart_files_without_template_syntax_parse_as_yaml()
    {
        var files = Directory.GetFiles(Chart(), "*.yaml", SearchOption.AllDirectories)
            .Where(f => !File.ReadAllText(f).Contains("{{", StringComparison.Ordinal))
            .ToList();
        Assert.That(files.Select(Path.GetFileName), Does.Contain("Chart.yaml").And.Contain("values.yaml"));
        foreach (var file in files)
        {
            var stream = new YamlStream();
            Assert.DoesNotThrow(() => stream.Load(new StringReader(File.ReadAllText(file))), file);
            Assert.That(stream.Documents, Is.Not.Empty, file);
        }
    }

    [Test]
    public void Chart_defaults_match_the_operators_defaults()
    {
        var values = new YamlDotNet.Serialization.Deserializer().Deserialize<Dictionary<string, object>>(File.ReadAllText(Chart("values.yaml")));
        var cache = (Dictionary<object, object>)values["cache"];
        var defaults = new InstallSettings();
        Assert.Multiple(() =>
        {
            Assert.That(cache["path"], Is.EqualTo(defaults.CachePath));
            Assert.That(cache["size"], Is.EqualTo(defaults.CacheSize));
            Assert.That(((Dictionary<object, object>)values["registrar"])["image"], Is.EqualTo(defaults.RegistrarImage));
        });
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Chart_rbac_grants_exactly_what_the_operator_declares(bool controlPlane)
    {
        var objects = KubernetesYaml.LoadAllFromString(
            HelmTemplateStandIn(File.ReadAllText(Chart("templates", "rbac.yaml")), ("controlPlane.enabled", controlPlane)), strict: true);
        List<string> Rules<T>(string name, Func<T, IList<V1PolicyRule>> rules) where T : IMetadata<V1ObjectMeta> =>
            Flatten(rules(objects.OfType<T>().Single(o => o.Metadata.Name == name)));
        var operatorClusterRules = controlPlane ? [.. Rbac.OperatorClusterRules(), .. Rbac.ControlPlaneClusterRules()] : Rbac.OperatorClusterRules();
        var operatorNamespaceRules = controlPlane ? [.. Rbac.OperatorNamespaceRules(), .. Rbac.ControlPlaneNamespaceRules()] : Rbac.OperatorNamespaceRules();

        Assert.Multiple(() =>
        {
            Assert.That(Rules<V1ClusterRole>("warpdrive-operator", r => r.Rules), Is.EqualTo(Flatten(operatorClusterRules)));
            Assert.That(Rules<V1ClusterRole>("warpdrive-operator", r => r.Rules).Contains("authentication.k8s.io/tokenreviews:create"), Is.EqualTo(controlPlane));
            Assert.That(Rules<V1Role>("warpdrive-operator", r => r.Rules), Is.EqualTo(Flatten(operatorNamespaceRules)));
            Assert.That(Rules<V1ClusterRole>("warpdrive-node", r => r.Rules), Is.EqualTo(Flatten(Rbac.NodeClusterRules())));
            Assert.That(Rules<V1Role>("warpdrive-node", r => r.Rules), Is.EqualTo(Flatten(Rbac.NodeNamespaceRules())));
            Assert.That(objects.OfType<V1RoleBinding>().SelectMany(b => b.Subjects).Select(s => s.NamespaceProperty), Is.All.EqualTo("release-ns"));
        });
    }

    [Test]
    public void Chart_csidriver_matches_the_operators()
    {
        var chart = KubernetesYaml.LoadAllFromString(HelmTemplateStandIn(File.ReadAllText(Chart("templates", "csidriver.yaml"))), strict: true)
            .OfType<V1CSIDriver>().Single();
        Assert.That(KubernetesYaml.Serialize(chart.Spec), Is.EqualTo(KubernetesYaml.Serialize(InstallManifests.CsiDriver(new InstallSettings()).Spec)));
    }

    [Test]
    public void Chart_csidriver_requests_the_default_token_audiences_from_values_with_republish()
    {
        var driver = KubernetesYaml.LoadAllFromString(HelmTemplateStandIn(File.ReadAllText(Chart("templates", "csidriver.yaml"))), strict: true)
            .OfType<V1CSIDriver>().Single();
        Assert.Multiple(() =>
        {
            Assert.That(driver.Spec.RequiresRepublish, Is.True);
            Assert.That(driver.Spec.TokenRequests.Select(t => t.Audience), Is.EqualTo(CsiTokenRequests.DefaultAudiences));
            Assert.That(driver.Spec.TokenRequests.Select(t => t.ExpirationSeconds), Is.All.GreaterThanOrEqualTo(600), "the API server's minimum");
            Assert.That(File.ReadAllText(Chart("values.yaml")), Does.Contain("workloadIdentityPools"), "values.yaml shows how to add the GCP pool audience");
        });
    }

    [Test]
    public void Every_example_parses_as_valid_kubernetes_objects()
    {
        var files = Directory.GetFiles(RepoPaths.Of("examples"), "*.yaml");
        Assert.That(files, Has.Length.GreaterThanOrEqualTo(8));
        var kinds = new List<string>();
        foreach (var file in files)
        {
            var objects = KubernetesYaml.LoadAllFromString(File.ReadAllText(file), CustomTypes, strict: true);
            kinds.AddRange(objects.Select(o => ((IKubernetesObject)o).Kind));
        }

        Assert.That(kinds, Does.Contain("WarpDataSource").And.Contain("WarpCacheWarm").And.Contain("Pod"));
    }

    [Test]
    public void Examples_cover_every_backend_type_and_render_into_configs_the_agent_accepts()
    {
        var sources = Directory.GetFiles(RepoPaths.Of("examples"), "*.yaml")
            .SelectMany(f => KubernetesYaml.LoadAllFromString(File.ReadAllText(f), CustomTypes, strict: true))
            .OfType<WarpDataSource>()
            .ToList();
        var secrets = new SecretKeyIndex([Fixtures.Secret("ml-team", "imagenet-s3-keys", ("access_key", "x"), ("secret_key", "y"))]);
        var gpuNode = Fixtures.Node("gpu-1", ("warpdrive.io/pool", "gpu"));

        var rendering = new NodeConfigRenderer(new OperatorOptions()).Render(gpuNode, sources, secrets);
        var config = WarpDrive.Config.ConfigLoader.LoadYaml(rendering.ConfigYaml, _ => null);

        Assert.Multiple(() =>
        {
            Assert.That(sources.Select(s => s.Spec.Backend.Type).Distinct(), Is.EquivalentTo(BackendTypes.All));
            Assert.That(rendering.Rejected, Is.Empty, string.Join("; ", rendering.Rejected));
            Assert.That(config.Backends, Has.Count.EqualTo(sources.Count));
        });
    }

    [Test]
    public void Inline_volume_example_uses_the_driver_with_source_and_subpath()
    {
        var pod = KubernetesYaml.LoadAllFromString(File.ReadAllText(RepoPaths.Of("examples", "pod-inline-volume.yaml")), strict: true)
            .OfType<V1Pod>().Single();
        var csi = pod.Spec.Volumes.Single().Csi;
        Assert.That(csi.Driver, Is.EqualTo(WarpDriveApi.CsiDriverName));
        Assert.That(csi.VolumeAttributes.Keys, Is.EquivalentTo(new[] { "source", "subPath" }));
    }

    [Test]
    public void Chart_node_daemonset_shares_the_hosts_pid_namespace_like_the_manifests() =>
        Assert.That(File.ReadAllText(Chart("templates", "node-daemonset.yaml")), Does.Match(@"(?m)^      hostPID: true$"),
            "pod attribution of access events needs the readers' pids (InstallManifests.NodeDaemonSet sets HostPID)");

    [Test]
    public void Chart_node_daemonset_projects_the_same_control_plane_token_as_the_manifests()
    {
        var template = File.ReadAllText(Chart("templates", "node-daemonset.yaml"));
        var blocks = ControlPlaneBlocks().Matches(template).Select(m => HelmTemplateStandIn(Dedent(m.Groups[1].Value))).ToList();
        Assert.That(blocks, Has.Count.EqualTo(2), "one volume mount and one volume, each under if .Values.controlPlane.enabled");
        var mount = KubernetesYaml.Deserialize<List<V1VolumeMount>>(blocks[0], strict: true).Single();
        var volume = KubernetesYaml.Deserialize<List<V1Volume>>(blocks[1], strict: true).Single();

        var manifests = InstallManifests.NodeDaemonSet(new InstallSettings()).Spec.Template.Spec;
        var expectedVolume = manifests.Volumes.Single(v => v.Name == InstallManifests.ControlPlaneTokenVolumeName);
        var expectedMount = manifests.Containers.Single(c => c.Name == "agent").VolumeMounts.Single(m => m.Name == InstallManifests.ControlPlaneTokenVolumeName);
        Assert.Multiple(() =>
        {
            Assert.That(KubernetesYaml.Serialize(volume), Is.EqualTo(KubernetesYaml.Serialize(expectedVolume)));
            Assert.That(KubernetesYaml.Serialize(mount), Is.EqualTo(KubernetesYaml.Serialize(expectedMount)));
            Assert.That(volume.Projected.Sources.Single().ServiceAccountToken.Audience, Is.EqualTo("warpdrive-control-plane"));
            Assert.That(mount.MountPath + "/token", Is.EqualTo(new OperatorOptions().ControlPlaneTokenFile));
        });
    }

    [Test]
    public void Chart_defaults_run_one_operator_replica_with_the_control_plane_on_persistent_sqlite()
    {
        var values = ValuesYaml();
        Assert.Multiple(() =>
        {
            Assert.That(Value(values, "controlPlane.enabled"), Is.EqualTo("true"));
            Assert.That(Value(values, "controlPlane.database"), Does.StartWith("sqlite:///"));
            Assert.That(Value(values, "operator.replicas"), Is.EqualTo("1"), "the template refuses SQLite with more replicas");
            Assert.That(Value(values, "controlPlane.persistence.enabled"), Is.EqualTo("true"));
            Assert.That(Value(values, "controlPlane.audience"), Is.EqualTo(WarpDrive.Operator.Governance.TokenReviewSettings.DefaultAudience));
        });
    }

    /// <summary>
    /// Test stand-in for <c>helm template</c> (no helm package in Debian): fills in <c>.Release.Namespace</c> and
    /// <c>{{ .Values.a.b [| quote] }}</c> and <c>{{- toYaml .Values.a.b | nindent N }}</c> from values.yaml, keeps or drops line-level <c>{{- if .Values.a.b }}</c> …
    /// <c>{{- end }}</c> blocks (values from <paramref name="overrides"/> first), and drops the common-labels include.
    /// Anything else left in <c>{{ }}</c> fails the test, so it cannot silently pass.
    /// </summary>
    private static string HelmTemplateStandIn(string template, params (string Path, bool Value)[] overrides)
    {
        var values = ValuesYaml();
        bool Condition(string path) => overrides.Any(o => o.Path == path) ? overrides.First(o => o.Path == path).Value : Value(values, path) == "true";

        var text = LabelsInclude().Replace(template, "");
        text = IfBlock().Replace(text, m => Condition(m.Groups[1].Value) ? m.Groups[2].Value : "");
        text = text.Replace("{{ .Release.Namespace }}", "release-ns", StringComparison.Ordinal);
        text = ToYamlExpression().Replace(text, m => Indented(Node(values, m.Groups[1].Value), int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)));
        text = ValueExpression().Replace(text, m =>
        {
            var value = Value(values, m.Groups[1].Value);
            return m.Groups[2].Success ? "\"" + value + "\"" : value;
        });
        Assert.That(text, Does.Not.Contain("{{"), "the stand-in only knows .Release.Namespace, .Values paths, if blocks and the labels include");
        return text;
    }

    private static YamlMappingNode ValuesYaml()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Chart("values.yaml"))));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static string Value(YamlMappingNode values, string path) => ((YamlScalarNode)Node(values, path)).Value!;

    private static YamlNode Node(YamlMappingNode values, string path)
    {
        YamlNode node = values;
        foreach (var key in path.Split('.'))
        {
            node = ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        }

        return node;
    }

    /// <summary><c>{{- toYaml X | nindent N }}</c>: the value as block YAML on new lines, N spaces in (the <c>-</c> ate the whitespace before it).</summary>
    private static string Indented(YamlNode node, int indent)
    {
        var text = new StringWriter();
        new YamlStream(new YamlDocument(node)).Save(text, assignAnchors: false);
        var value = new YamlDotNet.Serialization.DeserializerBuilder().Build().Deserialize<object>(text.ToString());
        var yaml = new YamlDotNet.Serialization.SerializerBuilder().Build().Serialize(value);
        return string.Concat(yaml.TrimEnd('\n').Split('\n').Select(line => "\n" + new string(' ', indent) + line));
    }

    private static string Dedent(string block)
    {
        var lines = block.Split('\n').Where(l => l.Trim().Length > 0).ToList();
        var indent = lines.Min(l => l.Length - l.TrimStart().Length);
        return string.Join('\n', lines.Select(l => l[indent..])) + "\n";
    }

    [GeneratedRegex(@"^[ \t]*\{\{- if \.Values\.([\w.]+) \}\}\r?\n(.*?)^[ \t]*\{\{- end \}\}\r?\n?", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex IfBlock();

    [GeneratedRegex(@"^[ \t]*\{\{- if \.Values\.controlPlane\.enabled \}\}\r?\n(.*?)^[ \t]*\{\{- end \}\}", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex ControlPlaneBlocks();

    [GeneratedRegex(@"\{\{ \.Values\.([\w.]+)( \| quote)? \}\}")]
    private static partial Regex ValueExpression();

    [GeneratedRegex(@"\s*\{\{- toYaml \.Values\.([\w.]+) \| nindent (\d+) \}\}")]
    private static partial Regex ToYamlExpression();

    private static List<string> Flatten(IEnumerable<V1PolicyRule> rules) =>
        rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}/{res}:{v}")))).Order().ToList();

    [GeneratedRegex(@"^\s*labels: \{\{- include ""warpdrive.labels"" \. \| nindent \d+ \}\}\r?\n", RegexOptions.Multiline)]
    private static partial Regex LabelsInclude();
}
