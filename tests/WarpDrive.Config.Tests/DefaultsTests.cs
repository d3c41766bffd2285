using NUnit.Framework;

namespace WarpDrive.Config.Tests;

public sealed class DefaultsTests
{
    [Test]
    public void AnAlmostEmptyFileGetsEveryDefault()
    {
        var config = ConfigLoader.LoadYaml("mount_point: /mnt/warpdrive\n", _ => null);

        Assert.Multiple(() =>
        {
            Assert.That(config.MountPoint, Is.EqualTo("/mnt/warpdrive"));
            Assert.That(config.AllowOther, Is.False);
            Assert.That(config.FuseDebug, Is.False);
            Assert.That(config.Backends, Is.Empty);

            Assert.That(config.Fuse.Workers, Is.EqualTo(4));
            Assert.That(config.Fuse.EntryTtl, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(config.Fuse.AttrTtl, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(config.Fuse.NegativeTtl, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(config.Fuse.DirCacheEntries, Is.EqualTo(1024));
            Assert.That(config.Fuse.DirCacheTtl, Is.EqualTo(TimeSpan.FromSeconds(30)));
            Assert.That(config.Fuse.MaxBackground, Is.EqualTo(64));
            Assert.That(config.Fuse.MountHelper, Is.EqualTo("auto"));

            Assert.That(config.Cache.Enabled, Is.True);
            Assert.That(config.Cache.Path, Is.EqualTo("/tmp/warpdrive-cache"));
            Assert.That(config.Cache.MaxSize, Is.EqualTo(50L * 1024 * 1024 * 1024));
            Assert.That(config.Cache.BlockSize, Is.EqualTo(4L * 1024 * 1024));
            Assert.That(config.Cache.ReadaheadBlocks, Is.EqualTo(4));
            Assert.That(config.Cache.MaxParallelFetch, Is.EqualTo(16));
            Assert.That(config.Cache.EvictHighWater, Is.EqualTo(0.90));
            Assert.That(config.Cache.EvictLowWater, Is.EqualTo(0.80));
            Assert.That(config.Cache.StatTtl, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(config.Cache.Passthrough, Is.EqualTo("auto"));

            Assert.That(config.Metrics.Enabled, Is.True);
            Assert.That(config.Metrics.Addr, Is.EqualTo(":9090"));

            Assert.That(config.Telemetry.Enabled, Is.False);
            Assert.That(config.Telemetry.Sink, Is.EqualTo("nop"));
            Assert.That(config.Telemetry.SampleMetadataOps, Is.EqualTo(0.1));
            Assert.That(config.Telemetry.BatchSize, Is.EqualTo(100));
            Assert.That(config.Telemetry.FlushInterval, Is.EqualTo(TimeSpan.FromSeconds(5)));

            Assert.That(config.ControlPlane.RestAddr, Is.EqualTo(":8090"));
            Assert.That(config.ControlPlane.StorageCrawlInterval, Is.EqualTo(TimeSpan.FromHours(24)));
        });
    }

    [Test]
    public void EmptySectionsMeanDefaults()
    {
        var config = ConfigLoader.LoadYaml("mount_point: /mnt/wd\nfuse:\ncache: ~\nmetrics: {}\nbackends: []\n", _ => null);

        Assert.That(config.Fuse.Workers, Is.EqualTo(4));
        Assert.That(config.Cache.BlockSize, Is.EqualTo(4L << 20));
        Assert.That(config.Metrics.Addr, Is.EqualTo(":9090"));
    }

    [Test]
    public void ABackendWithoutMountPathOrAuthGetsItsNameAsPathAndNoAuth()
    {
        var config = ConfigLoader.LoadYaml(
            """
            mount_point: /mnt/wd
            backends:
              - name: scratch
                type: local
                config: { root: /srv/scratch }
            """, _ => null);

        var backend = config.Backends.Single();
        Assert.That(backend.MountPath, Is.EqualTo("/scratch"));
        Assert.That(backend.Auth.Method, Is.EqualTo("none"));
        Assert.That(backend.Auth.Source, Is.EqualTo("node"), "the node's identity unless a pod's is asked for");
        Assert.That(backend.Auth.Settings, Is.Empty);
    }

    [Test]
    public void Auth_source_is_its_own_key_not_a_setting_of_the_method()
    {
        var config = ConfigLoader.LoadYaml("""
            mount_point: /mnt/wd
            backends:
              - name: shards
                type: s3
                config: { bucket: b }
                auth: { method: oidc_federation, source: pod, audience: sts.amazonaws.com }
            """, _ => null);

        var auth = config.Backends.Single().Auth;
        Assert.Multiple(() =>
        {
            Assert.That(auth.Source, Is.EqualTo(AuthSources.Pod));
            Assert.That(auth.Settings, Is.EquivalentTo(new Dictionary<string, string> { ["audience"] = "sts.amazonaws.com" }));
            Assert.That(AuthSources.AudienceOf(config.Backends.Single()), Is.EqualTo("sts.amazonaws.com"));
        });
    }

    [Test]
    public void AConfigBuiltInCodeHasTheSameDefaultsAndPassesValidation()
    {
        var config = new NodeConfig { MountPoint = "/mnt/wd" };

        Assert.DoesNotThrow(() => ConfigLoader.Validate(config));
        Assert.That(config.Cache.MaxSize, Is.EqualTo(ConfigLoader.LoadYaml("mount_point: /x", _ => null).Cache.MaxSize));
    }
}
