using NUnit.Framework;

namespace WarpDrive.Config.Tests;

public sealed class EnvironmentExpansionTests
{
    private static Func<string, string?> Env(params (string Name, string Value)[] variables)
    {
        var map = variables.ToDictionary(v => v.Name, v => v.Value);
        return name => map.GetValueOrDefault(name);
    }

    [Test]
    public void VariablesAreExpandedInAnyScalar()
    {
        var config = ConfigLoader.LoadYaml(
            """
            mount_point: ${MOUNT}
            cache:
              path: ${CACHE_ROOT}/blocks
              max_size: ${CACHE_SIZE}
            backends:
              - name: data
                type: s3
                config:
                  bucket: ${BUCKET}-${REGION}
                  region: ${REGION}
            """,
            Env(("MOUNT", "/mnt/wd"), ("CACHE_ROOT", "/nvme"), ("CACHE_SIZE", "100GB"), ("BUCKET", "ml"), ("REGION", "eu-west-1")));

        Assert.That(config.MountPoint, Is.EqualTo("/mnt/wd"));
        Assert.That(config.Cache.Path, Is.EqualTo("/nvme/blocks"));
        Assert.That(config.Cache.MaxSize, Is.EqualTo(100L << 30));
        Assert.That(config.Backends[0].Config["bucket"], Is.EqualTo("ml-eu-west-1"));
    }

    [Test]
    public void ADoubleDollarEscapesToALiteralReference()
    {
        var config = ConfigLoader.LoadYaml(
            "mount_point: /m\nbackends:\n  - name: a\n    type: rclone\n    config:\n      type: s3\n      prefix: $${NOT_EXPANDED}/x\n      note: cost $5 and $$ stays\n",
            _ => throw new AssertionException("no variable should be looked up"));

        Assert.That(config.Backends[0].Config["prefix"], Is.EqualTo("${NOT_EXPANDED}/x"));
        Assert.That(config.Backends[0].Config["note"], Is.EqualTo("cost $5 and $$ stays"));
    }

    [Test]
    public void AVariableSetToEmptyIsUsed()
    {
        var config = ConfigLoader.LoadYaml("mount_point: /m${SUFFIX}\n", Env(("SUFFIX", "")));

        Assert.That(config.MountPoint, Is.EqualTo("/m"));
    }

    [Test]
    public void AnUnsetVariableNamesTheKeyAndTheVariable()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(
            "mount_point: /m\nbackends:\n  - name: a\n    type: local\n    config:\n      root: ${DATA_DIR}\n", Env()))!;

        Assert.That(error.Key, Is.EqualTo("backends[0].config.root"));
        Assert.That(error.Message, Does.Contain("DATA_DIR").And.Contain("not set"));
    }

    [TestCase("mount_point: /m${OPEN\n", "mount_point")]
    [TestCase("mount_point: /m${1BAD}\n", "mount_point")]
    [TestCase("mount_point: /m${}\n", "mount_point")]
    public void AMalformedReferenceNamesTheKey(string yaml, string key)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(yaml, Env()))!;

        Assert.That(error.Key, Is.EqualTo(key));
    }

    [Test]
    public void TheProcessEnvironmentIsTheDefault()
    {
        var name = "WARPDRIVE_CONFIG_TEST_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "/mnt/from-env");
        try
        {
            Assert.That(ConfigLoader.LoadYaml($"mount_point: ${{{name}}}\n").MountPoint, Is.EqualTo("/mnt/from-env"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }
}
