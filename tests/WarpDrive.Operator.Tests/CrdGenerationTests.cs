using k8s;
using k8s.Models;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Tests;

public sealed class CrdGenerationTests
{
    private const string Regenerate = "run `dotnet run --project operator/WarpDrive.Operator -- crds --write crds/` and commit the result";

    private static V1CustomResourceDefinition Crd(string plural) =>
        CrdGenerator.All().Single(c => c.Spec.Names.Plural == plural);

    private static V1JSONSchemaProps Schema(string plural) => Crd(plural).Spec.Versions[0].Schema.OpenAPIV3Schema;

    [TestCaseSource(nameof(ResourcePlurals))]
    public void Committed_crd_file_matches_the_generator(string plural)
    {
        var crd = Crd(plural);
        var path = RepoPaths.Of("crds", CrdGenerator.FileName(crd));
        Assert.That(File.Exists(path), Is.True, $"{path} is missing: {Regenerate}");
        Assert.That(File.ReadAllText(path), Is.EqualTo(CrdGenerator.ToYaml(crd)), $"{path} is out of date: {Regenerate}");
    }

    [Test]
    public void Crds_folder_holds_only_generated_files()
    {
        var expected = CrdGenerator.All().Select(CrdGenerator.FileName).Order().ToList();
        var actual = Directory.GetFiles(RepoPaths.Of("crds"), "*.yaml").Select(Path.GetFileName).Order().ToList();
        Assert.That(actual, Is.EqualTo(expected), $"crds/ has files the generator does not produce: {Regenerate}");
    }

    [TestCaseSource(nameof(ResourcePlurals))]
    public void Generated_yaml_parses_back_into_the_same_definition(string plural)
    {
        var yaml = CrdGenerator.ToYaml(Crd(plural));
        var parsed = KubernetesYaml.LoadAllFromString(yaml).Single();
        Assert.That(parsed, Is.TypeOf<V1CustomResourceDefinition>());
        Assert.That(KubernetesYaml.Serialize(parsed).TrimEnd(), Is.EqualTo(KubernetesYaml.Serialize(Crd(plural)).TrimEnd()));
    }

    [Test]
    public void WarpDataSource_names_scope_columns_and_subresource()
    {
        var crd = Crd("warpdatasources");
        Assert.Multiple(() =>
        {
            Assert.That(crd.Metadata.Name, Is.EqualTo("warpdatasources.warpdrive.io"));
            Assert.That(crd.Spec.Group, Is.EqualTo("warpdrive.io"));
            Assert.That(crd.Spec.Scope, Is.EqualTo("Namespaced"));
            Assert.That(crd.Spec.Names.Kind, Is.EqualTo("WarpDataSource"));
            Assert.That(crd.Spec.Names.ShortNames, Is.EqualTo(new[] { "wds" }));
            Assert.That(crd.Spec.Names.Categories, Is.EqualTo(new[] { "warpdrive" }));
            var version = crd.Spec.Versions.Single();
            Assert.That(version.Name, Is.EqualTo("v1alpha1"));
            Assert.That(version.Served && version.Storage, Is.True);
            Assert.That(version.Subresources.Status, Is.Not.Null);
            var columns = version.AdditionalPrinterColumns.Where(c => c.Priority is null).ToDictionary(c => c.Name, c => c.JsonPath);
            Assert.That(columns, Is.EqualTo(new Dictionary<string, string>
            {
                ["Type"] = ".spec.backend.type",
                ["Identity"] = ".spec.auth.source",
                ["Ready"] = ".status.conditions[?(@.type==\"Ready\")].status",
                ["Reachable"] = ".status.conditions[?(@.type==\"BackendReachable\")].status",
                ["Ready Nodes"] = ".status.nodesReady",
                ["Cached"] = ".status.cachedBytes",
                ["Age"] = ".metadata.creationTimestamp",
            }));
        });
    }

    [Test]
    public void WarpCacheWarm_names_columns_and_node_list_map()
    {
        var crd = Crd("warpcachewarms");
        var version = crd.Spec.Versions.Single();
        var nodes = version.Schema.OpenAPIV3Schema.Properties["status"].Properties["nodes"];
        Assert.Multiple(() =>
        {
            Assert.That(crd.Spec.Names.ShortNames, Is.EqualTo(new[] { "wcw" }));
            Assert.That(crd.Spec.Names.Categories, Is.EqualTo(new[] { "warpdrive" }));
            Assert.That(version.Subresources.Status, Is.Not.Null);
            var columns = version.AdditionalPrinterColumns.Where(c => c.Priority is null).ToDictionary(c => c.Name, c => c.JsonPath);
            Assert.That(columns, Is.EqualTo(new Dictionary<string, string>
            {
                ["Phase"] = ".status.phase",
                ["Progress"] = ".status.progress",
                ["Age"] = ".metadata.creationTimestamp",
            }));
            Assert.That(nodes.XKubernetesListType, Is.EqualTo("map"));
            Assert.That(nodes.XKubernetesListMapKeys, Is.EqualTo(new[] { "node" }));
            // A list-map key must be required, or the API server rejects the CRD.
            Assert.That(((V1JSONSchemaProps)nodes.Items).Required, Does.Contain("node"));
            Assert.That(((V1JSONSchemaProps)nodes.Items).Properties["mbPerSecond"].Type, Is.EqualTo("number"));
        });
    }

    [Test]
    public void Enums_match_the_node_agent_config_schema()
    {
        var spec = Schema("warpdatasources").Properties["spec"];
        var types = spec.Properties["backend"].Properties["type"].EnumProperty.Cast<string>();
        var methods = spec.Properties["auth"].Properties["method"].EnumProperty.Cast<string>();
        Assert.Multiple(() =>
        {
            Assert.That(types, Is.EquivalentTo(WarpDrive.Config.BackendTypes.All));
            Assert.That(methods, Is.EquivalentTo(WarpDrive.Config.AuthMethods.All));
        });
    }

    [Test]
    public void Share_is_bounded_by_schema_and_by_a_cel_rule()
    {
        var cache = Schema("warpdatasources").Properties["spec"].Properties["cache"];
        var share = cache.Properties["share"];
        var rule = cache.XKubernetesValidations.Single(r => r.FieldPath == ".share");
        Assert.Multiple(() =>
        {
            Assert.That(share.Type, Is.EqualTo("number"));
            Assert.That(share.Minimum, Is.EqualTo(0));
            Assert.That(share.Maximum, Is.EqualTo(1));
            Assert.That(rule.Message, Does.Contain("spec.cache.share").And.Contain("between 0 and 1"));
            Assert.That(rule.Rule, Does.Contain("self.share"));
        });
    }

    [TestCase(".secretRef", "spec.auth.secretRef is required when spec.auth.method is service_principal or static", "service_principal", "static")]
    [TestCase(".serviceAccountName", "spec.auth.serviceAccountName is required when spec.auth.method is workload_identity (unless spec.auth.source is pod)", "workload_identity")]
    public void Auth_rules_name_the_field_and_the_methods(string fieldPath, string message, params string[] methods)
    {
        var auth = Schema("warpdatasources").Properties["spec"].Properties["auth"];
        var rule = auth.XKubernetesValidations.Single(r => r.FieldPath == fieldPath && r.Reason == "FieldValueRequired");
        Assert.Multiple(() =>
        {
            Assert.That(rule.Message, Is.EqualTo(message));
            foreach (var method in methods)
            {
                Assert.That(rule.Rule, Does.Contain($"'{method}'"));
            }

            // The field a rule reports on must exist where it says, or the API server refuses the CRD.
            Assert.That(auth.Properties.Keys, Does.Contain(fieldPath.TrimStart('.')));
        });
    }

    [Test]
    public void Auth_source_is_node_or_pod_and_defaults_to_node()
    {
        var source = Schema("warpdatasources").Properties["spec"].Properties["auth"].Properties["source"];
        Assert.Multiple(() =>
        {
            Assert.That(source.EnumProperty, Is.EqualTo(new object[] { "node", "pod" }));
            Assert.That(source.EnumProperty, Is.EquivalentTo(WarpDrive.Config.AuthSources.All), "the node agent's values");
            Assert.That(source.DefaultProperty, Is.EqualTo("node"), "existing sources keep reading with the node's identity");
            Assert.That(source.Description, Does.Contain("eks.amazonaws.com/role-arn").And.Contain("tokenRequests"));
        });
    }

    [Test]
    public void Pod_identity_needs_a_federation_method_and_forbids_a_service_account_name()
    {
        var auth = Schema("warpdatasources").Properties["spec"].Properties["auth"];
        var method = auth.XKubernetesValidations.Single(r => r.FieldPath == ".source");
        var forbidden = auth.XKubernetesValidations.Single(r => r.FieldPath == ".serviceAccountName" && r.Reason == "FieldValueForbidden");
        Assert.Multiple(() =>
        {
            Assert.That(method.Rule, Does.Contain("self.source != 'pod'"));
            foreach (var federation in WarpDrive.Config.AuthSources.PodMethods.Keys)
            {
                Assert.That(method.Rule, Does.Contain($"'{federation}'"));
                Assert.That(method.Message, Does.Contain(federation));
            }

            Assert.That(method.Rule, Does.Not.Contain("'static'").And.Not.Contain("'managed_identity'"));
            Assert.That(method.Message, Does.StartWith("spec.auth.source pod needs spec.auth.method"));
            Assert.That(method.Reason, Is.EqualTo("FieldValueInvalid"));
            Assert.That(forbidden.Rule, Is.EqualTo("!has(self.source) || self.source != 'pod' || !has(self.serviceAccountName)"));
            Assert.That(forbidden.Message, Does.StartWith("spec.auth.serviceAccountName must not be set when spec.auth.source is pod"));
        });
    }

    [Test]
    public void Pod_identity_pairs_each_federation_method_with_its_backend_type_like_the_agent()
    {
        var spec = Schema("warpdatasources").Properties["spec"];
        var rule = spec.XKubernetesValidations.Single(r => r.FieldPath == ".auth.source");
        Assert.Multiple(() =>
        {
            // The agent's own pairing (WarpDrive.Config), so the API server refuses what the agent would refuse.
            foreach (var (method, type) in WarpDrive.Config.AuthSources.PodMethods)
            {
                Assert.That(rule.Rule, Does.Contain($"(self.auth.method == '{method}' && self.backend.type == '{type}')"));
                Assert.That(rule.Message, Does.Contain($"{method} for {type}"));
            }

            Assert.That(rule.Message, Does.StartWith("spec.auth.source pod"));
            Assert.That(spec.Properties.Keys, Does.Contain("auth").And.Contain("backend"));
        });
    }

    [Test]
    public void Warm_paths_must_be_non_empty()
    {
        var spec = Schema("warpcachewarms").Properties["spec"];
        var rule = spec.XKubernetesValidations.Single(r => r.FieldPath == ".paths");
        Assert.Multiple(() =>
        {
            Assert.That(rule.Rule, Is.EqualTo("has(self.paths) && size(self.paths) > 0"));
            Assert.That(rule.Message, Does.Contain("spec.paths"));
            Assert.That(spec.Required, Does.Contain("paths").And.Contain("source"));
        });
    }

    [Test]
    public void Source_names_must_be_dns_labels_because_they_name_backends_and_claims()
    {
        var rule = Schema("warpdatasources").XKubernetesValidations.Single();
        Assert.That(rule.Rule, Does.Contain("self.metadata.name.matches"));
        Assert.That(rule.Message, Does.StartWith("metadata.name must be a DNS label"));
    }

    [Test]
    public void Conditions_have_the_metav1_condition_shape()
    {
        var conditions = Schema("warpdatasources").Properties["status"].Properties["conditions"];
        var item = (V1JSONSchemaProps)conditions.Items;
        Assert.Multiple(() =>
        {
            Assert.That(item.Required, Is.EquivalentTo(new[] { "type", "status", "lastTransitionTime", "reason", "message" }));
            Assert.That(item.Properties["lastTransitionTime"].Format, Is.EqualTo("date-time"));
            Assert.That(item.Properties["status"].EnumProperty, Is.EqualTo(new object[] { "True", "False", "Unknown" }));
            Assert.That(item.Properties["observedGeneration"].Type, Is.EqualTo("integer"));
            Assert.That(conditions.XKubernetesListMapKeys, Is.EqualTo(new[] { "type" }));
        });
    }

    [Test]
    public void Every_object_schema_is_structural()
    {
        foreach (var crd in CrdGenerator.All())
        {
            AssertStructural(crd.Spec.Names.Kind, crd.Spec.Versions[0].Schema.OpenAPIV3Schema);
        }
    }

    private static void AssertStructural(string path, V1JSONSchemaProps schema)
    {
        Assert.That(schema.Type, Is.Not.Null.And.Not.Empty, $"{path} has no type (structural schemas need one everywhere)");
        foreach (var (name, property) in schema.Properties ?? new Dictionary<string, V1JSONSchemaProps>())
        {
            AssertStructural($"{path}.{name}", property);
        }

        if (schema.Items is V1JSONSchemaProps items)
        {
            AssertStructural(path + "[]", items);
        }

        if (schema.AdditionalProperties is V1JSONSchemaProps values)
        {
            AssertStructural(path + "{}", values);
        }
    }

    private static IEnumerable<string> ResourcePlurals() => ["warpdatasources", "warpcachewarms"];
}
