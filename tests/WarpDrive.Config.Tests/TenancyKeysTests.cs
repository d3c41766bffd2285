using NUnit.Framework;

namespace WarpDrive.Config.Tests;

/// <summary><c>backends[].namespace</c> and <c>allowed_namespaces</c>: who may mount a source through the CSI node plugin.</summary>
public sealed class TenancyKeysTests
{
    private const string Head = "mount_point: /mnt/wd\nbackends:\n  - name: team-a-data\n    type: local\n    config: { root: /srv/a }\n";

    [Test]
    public void NamespaceAndAllowedNamespacesAreRead()
    {
        var config = ConfigLoader.LoadYaml(Head + "    namespace: team-a\n    allowed_namespaces: [team-b, \"${EXTRA}\"]\n",
            name => name == "EXTRA" ? "team-c" : null);

        Assert.Multiple(() =>
        {
            Assert.That(config.Backends[0].Namespace, Is.EqualTo("team-a"));
            Assert.That(config.Backends[0].AllowedNamespaces, Is.EqualTo(new[] { "team-b", "team-c" }));
            Assert.That(config.Redacted(), Does.Contain("namespace: team-a, allowed_namespaces: [team-b, team-c]"));
        });
    }

    [Test]
    public void BothKeysAreOptional()
    {
        var config = ConfigLoader.LoadYaml(Head, _ => null);

        Assert.That(config.Backends[0].Namespace, Is.Empty);
        Assert.That(config.Backends[0].AllowedNamespaces, Is.Empty);
    }

    [TestCase("    namespace: Team_A\n", "backends[0].namespace", "\"Team_A\" is not a Kubernetes namespace name")]
    [TestCase("    namespace: -a\n", "backends[0].namespace", "\"-a\"")]
    [TestCase("    allowed_namespaces: [ok, not ok]\n", "backends[0].allowed_namespaces[1]", "\"not ok\"")]
    [TestCase("    allowed_namespaces: team-b\n", "backends[0].allowed_namespaces", "expected a list")]
    [TestCase("    allowed_namespaces: [{ a: b }]\n", "backends[0].allowed_namespaces[0]", "expected a single value")]
    public void BadValuesNameTheirKey(string extra, string key, string mentions)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(Head + extra, _ => null))!;

        TestContext.Out.WriteLine(error.Message);
        Assert.That(error.Key, Is.EqualTo(key), error.Message);
        Assert.That(error.Message, Does.Contain(mentions));
    }

    [Test]
    public void ANamespaceLongerThan63IsRefused()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(Head + $"    namespace: {new string('a', 64)}\n", _ => null))!;

        Assert.That(error.Key, Is.EqualTo("backends[0].namespace"));
    }
}
