using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Serialization;
using NUnit.Framework;
using WarpDrive.Node.Kubernetes;
using YamlDotNet.Serialization;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>
/// The node keeps its own copy of the WarpCacheWarm fields it reads and writes (it must not reference the operator);
/// these tests hold that copy to the CRD the operator generates, so a renamed or retyped field fails here, not in a
/// cluster.
/// </summary>
[TestFixture]
public sealed class WarmJobResourcesCrdTests
{
    private static readonly Dictionary<object, object> Crd = LoadCrd();

    [Test]
    public void GroupVersionKindAndPluralAreTheCrds()
    {
        var spec = Map(Crd, "spec");
        var names = Map(spec, "names");
        var version = ((List<object>)spec["versions"]).Cast<Dictionary<object, object>>().Single(v => (string)v["name"] == WarmJobApi.Version);
        Assert.Multiple(() =>
        {
            Assert.That(spec["group"], Is.EqualTo(WarmJobApi.Group));
            Assert.That(names["kind"], Is.EqualTo(WarmJobApi.Kind));
            Assert.That(names["plural"], Is.EqualTo(WarmJobApi.Plural));
            Assert.That(spec["scope"], Is.EqualTo("Namespaced"));
            Assert.That(Map(version, "subresources").ContainsKey("status"), Is.True, "status is applied through the status subresource");
        });
    }

    [Test]
    public void SpecFieldsTheNodeReadsAreInTheCrdWithTheirTypes() =>
        AssertMatches(typeof(WarmJobSpec), Properties(Schema(), "spec"));

    [Test]
    public void TheNodeEntryMatchesTheCrdsListMapEntry()
    {
        var status = Properties(Schema(), "status");
        var nodes = (Dictionary<object, object>)status["nodes"];
        AssertMatches(typeof(WarmJobStatus), status);
        AssertMatches(typeof(WarmNodeEntry), Map(Map(nodes, "items"), "properties"));
        var phases = (List<object>)Map(Map(Map(nodes, "items"), "properties"), "phase")["enum"];
        Assert.Multiple(() =>
        {
            Assert.That(nodes["x-kubernetes-list-type"], Is.EqualTo("map"), "each agent owns its entry only in a list-map");
            Assert.That(nodes["x-kubernetes-list-map-keys"], Is.EqualTo(new[] { "node" }));
            Assert.That(phases, Is.EquivalentTo(new[] { WarmNodePhases.Pending, WarmNodePhases.Running, WarmNodePhases.Succeeded, WarmNodePhases.Failed }));
            Assert.That(Map(Map(nodes, "items"), "properties", "error")["maxLength"], Is.EqualTo(WarmNodeEntry.MaxErrorLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        });
    }

    private static void AssertMatches(Type type, Dictionary<object, object> properties)
    {
        var fields = type.GetProperties().Where(p => p.GetCustomAttribute<JsonIgnoreAttribute>() is null).ToList();
        Assert.That(fields, Is.Not.Empty);
        Assert.Multiple(() =>
        {
            foreach (var field in fields)
            {
                var name = field.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name;
                Assert.That(name, Is.Not.Null, $"{type.Name}.{field.Name} names its JSON property");
                Assert.That(properties.ContainsKey(name!), Is.True, $"{type.Name}.{field.Name} → \"{name}\" is not in the CRD");
                if (properties.TryGetValue(name!, out var schema))
                {
                    Assert.That(((Dictionary<object, object>)schema)["type"], Is.EqualTo(SchemaType(field.PropertyType)), $"type of \"{name}\"");
                }
            }
        });
    }

    private static string SchemaType(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        return type == typeof(string) ? "string"
            : type == typeof(int) || type == typeof(long) ? "integer"
            : type == typeof(double) ? "number"
            : type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IDictionary<,>) ? "object"
            : type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IList<>) ? "array"
            : "object";
    }

    private static Dictionary<object, object> Schema()
    {
        var version = ((List<object>)Map(Crd, "spec")["versions"]).Cast<Dictionary<object, object>>().Single(v => (string)v["name"] == WarmJobApi.Version);
        return Map(version, "schema", "openAPIV3Schema");
    }

    private static Dictionary<object, object> Properties(Dictionary<object, object> schema, string field) =>
        Map(schema, "properties", field, "properties");

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
        var yaml = File.ReadAllText(Path.Combine(repo, "crds", $"{WarmJobApi.Plural}.{WarmJobApi.Group}.yaml"));
        return new DeserializerBuilder().Build().Deserialize<Dictionary<object, object>>(yaml);
    }
}
