using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using NUnit.Framework;
using WarpDrive.Node.Hosting;
using WarpDrive.Node.Kubernetes;
using YamlDotNet.Serialization;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>
/// The node's copy of the WarpDataSource status entry it applies, held to the CRD the operator generates: a renamed
/// or retyped field, or a reason the CRD's pattern refuses, fails here and not in a cluster.
/// </summary>
[TestFixture]
public sealed class SourceReportResourcesCrdTests
{
    private static readonly Dictionary<object, object> Crd = LoadCrd();

    [Test]
    public void GroupKindPluralAndTheStatusSubresourceAreTheCrds()
    {
        var spec = Map(Crd, "spec");
        Assert.Multiple(() =>
        {
            Assert.That(spec["group"], Is.EqualTo(SourceReportApi.Group));
            Assert.That(Map(spec, "names")["kind"], Is.EqualTo(SourceReportApi.Kind));
            Assert.That(Map(spec, "names")["plural"], Is.EqualTo(SourceReportApi.Plural));
            Assert.That(Map(Version(), "subresources").ContainsKey("status"), Is.True);
        });
    }

    [Test]
    public void TheNodeEntryMatchesTheCrdsListMapEntryAndEveryReasonFitsItsPattern()
    {
        var nodes = Map(Version(), "schema", "openAPIV3Schema", "properties", "status", "properties", "nodes");
        var properties = Map(nodes, "items", "properties");
        var pattern = new System.Text.RegularExpressions.Regex((string)Map(properties, "reason")["pattern"]);
        var reasons = typeof(ProbeReasons).GetFields().Select(f => (string)f.GetValue(null)!).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(nodes["x-kubernetes-list-type"], Is.EqualTo("map"));
            Assert.That(nodes["x-kubernetes-list-map-keys"], Is.EqualTo(new[] { "node" }));
            foreach (var field in typeof(SourceNodeEntry).GetProperties())
            {
                var name = field.GetCustomAttribute<JsonPropertyNameAttribute>()!.Name;
                Assert.That(properties.ContainsKey(name), Is.True, $"\"{name}\" is not in the CRD");
                if (properties.TryGetValue(name, out var schema))
                {
                    Assert.That(((Dictionary<object, object>)schema)["type"], Is.EqualTo(SchemaType(field.PropertyType)), name);
                }
            }

            Assert.That(reasons, Has.Count.GreaterThan(5));
            Assert.That(reasons.Where(r => !pattern.IsMatch(r)), Is.Empty);
        });
    }

    private static string SchemaType(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(bool) ? "boolean" : type == typeof(string) || type == typeof(DateTime) ? "string" : "object";
    }

    private static Dictionary<object, object> Version() =>
        ((List<object>)Map(Crd, "spec")["versions"]).Cast<Dictionary<object, object>>().Single(v => (string)v["name"] == SourceReportApi.Version);

    private static Dictionary<object, object> Map(Dictionary<object, object> node, params string[] path)
    {
        foreach (var key in path)
        {
            node = (Dictionary<object, object>)node[key];
        }

        return node;
    }

    private static Dictionary<object, object> LoadCrd([CallerFilePath] string thisFile = "")
    {
        var repo = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));
        var yaml = File.ReadAllText(Path.Combine(repo, "crds", $"{SourceReportApi.Plural}.{SourceReportApi.Group}.yaml"));
        return new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(yaml);
    }
}
