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

    [Test]
    public void Chart_rbac_grants_exactly_what_the_operator_declares()
    {
        var objects = KubernetesYaml.LoadAllFromString(HelmTemplateStandIn(File.ReadAllText(Chart("templates", "rbac.yaml"))), strict: true);
        List<string> Rules<T>(string name, Func<T, IList<V1PolicyRule>> rules) where T : IMetadata<V1ObjectMeta> =>
            Flatten(rules(objects.OfType<T>().Single(o => o.Metadata.Name == name)));

        Assert.Multiple(() =>
        {
            Assert.That(Rules<V1ClusterRole>("warpdrive-operator", r => r.Rules), Is.EqualTo(Flatten(Rbac.OperatorClusterRules())));
            Assert.That(Rules<V1Role>("warpdrive-operator", r => r.Rules), Is.EqualTo(Flatten(Rbac.OperatorNamespaceRules())));
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
        Assert.That(KubernetesYaml.Serialize(chart.Spec), Is.EqualTo(KubernetesYaml.Serialize(InstallManifests.CsiDriver().Spec)));
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

    /// <summary>
    /// Test stand-in for <c>helm template</c> (no helm package in Debian): fills in <c>.Release.Namespace</c> and drops
    /// the common-labels include. Anything else left in <c>{{ }}</c> fails the test, so it cannot silently pass.
    /// </summary>
    private static string HelmTemplateStandIn(string template)
    {
        var text = LabelsInclude().Replace(template, "");
        text = text.Replace("{{ .Release.Namespace }}", "release-ns", StringComparison.Ordinal);
        Assert.That(text, Does.Not.Contain("{{"), "the stand-in only knows .Release.Namespace and the labels include");
        return text;
    }

    private static List<string> Flatten(IEnumerable<V1PolicyRule> rules) =>
        rules.SelectMany(r => r.ApiGroups.SelectMany(g => r.Resources.SelectMany(res => r.Verbs.Select(v => $"{g}/{res}:{v}")))).Order().ToList();

    [GeneratedRegex(@"^\s*labels: \{\{- include ""warpdrive.labels"" \. \| nindent \d+ \}\}\r?\n", RegexOptions.Multiline)]
    private static partial Regex LabelsInclude();
}
