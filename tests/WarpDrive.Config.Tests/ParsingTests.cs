using NUnit.Framework;

namespace WarpDrive.Config.Tests;

public sealed class ParsingTests
{
    private const string EveryKey =
        """
        mount_point: /mnt/data
        allow_other: true
        fuse_debug: true
        fuse:
          workers: 8
          entry_ttl: 1m
          attr_ttl: 2m
          negative_ttl: 500ms
          dir_cache_entries: 4096
          dir_cache_ttl: 1h30m
          max_background: 128
          mount_helper: fusermount3
        cache:
          enabled: false
          path: /nvme/wd
          max_size: 500GB
          block_size: 1MiB
          readahead_blocks: 16
          max_parallel_fetch: 64
          evict_high_water: 0.95
          evict_low_water: 0.5
          stat_ttl: 0
          passthrough: off
        backends:
          - name: imagenet
            type: s3
            mount_path: /datasets/imagenet/
            config:
              bucket: ml-data
              region: us-east-1
              endpoint: http://127.0.0.1:9000
              path_style: true
              page_size: 32
            auth:
              method: static
              access_key_env: AWS_ACCESS_KEY_ID
              secret_key_env: AWS_SECRET_ACCESS_KEY
          - name: local_1
            type: local
            config:
              root: /srv/data
        metrics:
          enabled: false
          addr: 127.0.0.1:9191
        telemetry:
          enabled: true
          sink: grpc
          sample_metadata_ops: 0.25
          batch_size: 500
          flush_interval: 10s
        control_plane:
          rest_addr: "[::1]:8091"
          storage_crawl_interval: 12h
        """;

    [Test]
    public void EveryKeyIsRead()
    {
        var config = ConfigLoader.LoadYaml(EveryKey, _ => null);

        Assert.Multiple(() =>
        {
            Assert.That(config.MountPoint, Is.EqualTo("/mnt/data"));
            Assert.That(config.AllowOther, Is.True);
            Assert.That(config.FuseDebug, Is.True);

            Assert.That(config.Fuse.Workers, Is.EqualTo(8));
            Assert.That(config.Fuse.EntryTtl, Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(config.Fuse.AttrTtl, Is.EqualTo(TimeSpan.FromMinutes(2)));
            Assert.That(config.Fuse.NegativeTtl, Is.EqualTo(TimeSpan.FromMilliseconds(500)));
            Assert.That(config.Fuse.DirCacheEntries, Is.EqualTo(4096));
            Assert.That(config.Fuse.DirCacheTtl, Is.EqualTo(TimeSpan.FromMinutes(90)));
            Assert.That(config.Fuse.MaxBackground, Is.EqualTo(128));
            Assert.That(config.Fuse.MountHelper, Is.EqualTo("fusermount3"));

            Assert.That(config.Cache.Enabled, Is.False);
            Assert.That(config.Cache.Path, Is.EqualTo("/nvme/wd"));
            Assert.That(config.Cache.MaxSize, Is.EqualTo(500L << 30));
            Assert.That(config.Cache.BlockSize, Is.EqualTo(1L << 20));
            Assert.That(config.Cache.ReadaheadBlocks, Is.EqualTo(16));
            Assert.That(config.Cache.MaxParallelFetch, Is.EqualTo(64));
            Assert.That(config.Cache.EvictHighWater, Is.EqualTo(0.95));
            Assert.That(config.Cache.EvictLowWater, Is.EqualTo(0.5));
            Assert.That(config.Cache.StatTtl, Is.EqualTo(TimeSpan.Zero));
            Assert.That(config.Cache.Passthrough, Is.EqualTo("off"));

            Assert.That(config.Backends, Has.Count.EqualTo(2));
            var s3 = config.Backends[0];
            Assert.That(s3.Name, Is.EqualTo("imagenet"));
            Assert.That(s3.Type, Is.EqualTo("s3"));
            Assert.That(s3.MountPath, Is.EqualTo("/datasets/imagenet"), "trailing slash is normalized away");
            Assert.That(s3.Config, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["bucket"] = "ml-data",
                ["region"] = "us-east-1",
                ["endpoint"] = "http://127.0.0.1:9000",
                ["path_style"] = "true",
                ["page_size"] = "32",
            }));
            Assert.That(s3.Auth.Method, Is.EqualTo("static"));
            Assert.That(s3.Auth.Settings, Is.EquivalentTo(new Dictionary<string, string>
            {
                ["access_key_env"] = "AWS_ACCESS_KEY_ID",
                ["secret_key_env"] = "AWS_SECRET_ACCESS_KEY",
            }));
            Assert.That(config.Backends[1].Name, Is.EqualTo("local_1"));
            Assert.That(config.Backends[1].MountPath, Is.EqualTo("/local_1"));

            Assert.That(config.Metrics.Enabled, Is.False);
            Assert.That(config.Metrics.Addr, Is.EqualTo("127.0.0.1:9191"));

            Assert.That(config.Telemetry.Enabled, Is.True);
            Assert.That(config.Telemetry.Sink, Is.EqualTo("grpc"));
            Assert.That(config.Telemetry.SampleMetadataOps, Is.EqualTo(0.25));
            Assert.That(config.Telemetry.BatchSize, Is.EqualTo(500));
            Assert.That(config.Telemetry.FlushInterval, Is.EqualTo(TimeSpan.FromSeconds(10)));

            Assert.That(config.ControlPlane.RestAddr, Is.EqualTo("[::1]:8091"));
            Assert.That(config.ControlPlane.StorageCrawlInterval, Is.EqualTo(TimeSpan.FromHours(12)));
        });
    }

    [TestCase("mount_point: /m\ncache:\n  max_szie: 10GB\n", "cache.max_szie")]
    [TestCase("mount_point: /m\nmount_piont: /x\n", "mount_piont")]
    [TestCase("mount_point: /m\nfuse:\n  worker: 2\n", "fuse.worker")]
    [TestCase("mount_point: /m\nbackends:\n  - name: a\n    type: local\n    root: /x\n", "backends[0].root")]
    [TestCase("mount_point: /m\ntelemetry:\n  sample_rate: 1\n", "telemetry.sample_rate")]
    [TestCase("mount_point: /m\ncontrol_plane:\n  rest: :1\n", "control_plane.rest")]
    [TestCase("mount_point: /m\nmetrics:\n  address: :1\n", "metrics.address")]
    public void AnUnknownKeyIsRefusedByName(string yaml, string key)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(yaml, _ => null))!;

        Assert.That(error.Key, Is.EqualTo(key));
        Assert.That(error.Message, Does.StartWith(key + ": unknown key"));
    }

    [Test]
    public void TheUnknownKeyMessageListsTheAllowedKeys()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml("mount_point: /m\ncache:\n  max_szie: 1GB\n", _ => null))!;

        TestContext.Out.WriteLine(error.Message);
        Assert.That(error.Message, Does.Contain("max_size").And.Contain("block_size"));
    }

    [TestCase("mount_point: /m\nallow_other: yes\n", "allow_other", "\"yes\"")]
    [TestCase("mount_point: /m\nfuse:\n  workers: many\n", "fuse.workers", "\"many\"")]
    [TestCase("mount_point: /m\ncache:\n  max_size: 5 apples\n", "cache.max_size", "\"5 apples\"")]
    [TestCase("mount_point: /m\ncache:\n  evict_high_water: high\n", "cache.evict_high_water", "\"high\"")]
    [TestCase("mount_point: /m\nfuse:\n  entry_ttl: 30\n", "fuse.entry_ttl", "\"30\"")]
    [TestCase("mount_point: /m\nfuse: 3\n", "fuse", "expected a map")]
    [TestCase("mount_point: /m\nbackends: local\n", "backends", "expected a list")]
    [TestCase("mount_point: [a, b]\n", "mount_point", "expected a single value")]
    [TestCase("mount_point: /m\nbackends:\n  - name: a\n    type: s3\n    config:\n      bucket: [x]\n", "backends[0].config.bucket", "expected a single value")]
    public void AValueOfTheWrongShapeNamesKeyAndValue(string yaml, string key, string shown)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(yaml, _ => null))!;

        TestContext.Out.WriteLine(error.Message);
        Assert.That(error.Key, Is.EqualTo(key));
        Assert.That(error.Message, Does.StartWith(key + ":").And.Contain(shown));
    }

    [Test]
    public void BrokenYamlIsAConfigErrorWithItsPosition()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml("mount_point: /m\ncache:\n  path: [unclosed\n", _ => null))!;

        TestContext.Out.WriteLine(error.Message);
        Assert.That(error.Key, Is.EqualTo("config"));
        Assert.That(error.Message, Does.Contain("not valid YAML at line"));
    }

    [Test]
    public void ADuplicateKeyIsRefused()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml("mount_point: /m\nmount_point: /n\n", _ => null))!;

        TestContext.Out.WriteLine(error.Message);
        Assert.That(error.Key, Is.EqualTo("config"));
    }

    [Test]
    public void AQuotedNullIsAString()
    {
        var config = ConfigLoader.LoadYaml(
            "mount_point: /m\nbackends:\n  - name: a\n    type: s3\n    config: { bucket: \"null\" }\n", _ => null);

        Assert.That(config.Backends[0].Config["bucket"], Is.EqualTo("null"));
    }
}
