using NUnit.Framework;

namespace WarpDrive.Config.Tests;

public sealed class ValidationTests
{
    private const string Mount = "mount_point: /mnt/wd\n";

    /// <summary>One local backend that is valid on its own; cases append or replace around it.</summary>
    private static string Backend(string name = "a", string type = "local", string config = "{ root: /srv/a }", string extra = "") =>
        $"  - name: {name}\n    type: {type}\n    config: {config}\n{extra}";

    private static IEnumerable<TestCaseData> Failures()
    {
        TestCaseData Case(string yaml, string key, string mentions) =>
            new TestCaseData(yaml, key, mentions).SetName($"{{m}}({key}: {mentions})");

        yield return Case("fuse: { workers: 2 }\n", "mount_point", "required");
        yield return Case("mount_point: mnt/wd\n", "mount_point", "mnt/wd");

        yield return Case(Mount + "fuse: { workers: 0 }\n", "fuse.workers", "1 to 64");
        yield return Case(Mount + "fuse: { workers: 65 }\n", "fuse.workers", "65");
        yield return Case(Mount + "fuse: { entry_ttl: -1s }\n", "fuse.entry_ttl", "negative");
        yield return Case(Mount + "fuse: { attr_ttl: -1s }\n", "fuse.attr_ttl", "negative");
        yield return Case(Mount + "fuse: { negative_ttl: -1s }\n", "fuse.negative_ttl", "negative");
        yield return Case(Mount + "fuse: { dir_cache_ttl: -5m }\n", "fuse.dir_cache_ttl", "negative");
        yield return Case(Mount + "fuse: { dir_cache_entries: -1 }\n", "fuse.dir_cache_entries", "-1");
        yield return Case(Mount + "fuse: { max_background: 0 }\n", "fuse.max_background", "0");
        yield return Case(Mount + "fuse: { mount_helper: sudo }\n", "fuse.mount_helper", "auto, mount, fusermount3");

        yield return Case(Mount + "cache: { path: relative/dir }\n", "cache.path", "relative/dir");
        yield return Case(Mount + "cache: { block_size: 3MB }\n", "cache.block_size", "power of two");
        yield return Case(Mount + "cache: { block_size: 32KiB }\n", "cache.block_size", "64KiB to 64MiB");
        yield return Case(Mount + "cache: { block_size: 128MiB }\n", "cache.block_size", "128MiB");
        yield return Case(Mount + "cache: { max_size: 1MB, block_size: 4MB }\n", "cache.max_size", "1MiB");
        yield return Case(Mount + "cache: { evict_high_water: 1.2 }\n", "cache.evict_high_water", "1.2");
        yield return Case(Mount + "cache: { evict_low_water: 0 }\n", "cache.evict_low_water", "0 < evict_low_water");
        yield return Case(Mount + "cache: { evict_low_water: 0.9, evict_high_water: 0.9 }\n", "cache.evict_low_water", "0.9");
        yield return Case(Mount + "cache: { readahead_blocks: 257 }\n", "cache.readahead_blocks", "0 to 256");
        yield return Case(Mount + "cache: { readahead_blocks: -1 }\n", "cache.readahead_blocks", "-1");
        yield return Case(Mount + "cache: { max_parallel_fetch: 0 }\n", "cache.max_parallel_fetch", "1 to 1024");
        yield return Case(Mount + "cache: { max_parallel_fetch: 1025 }\n", "cache.max_parallel_fetch", "1025");
        yield return Case(Mount + "cache: { stat_ttl: -1ms }\n", "cache.stat_ttl", "negative");
        yield return Case(Mount + "cache: { passthrough: always }\n", "cache.passthrough", "auto, off");

        yield return Case(Mount + "backends:\n" + Backend(name: "\"\""), "backends[0].name", "required");
        yield return Case(Mount + "backends:\n" + Backend(name: "Data"), "backends[0].name", "\"Data\"");
        yield return Case(Mount + "backends:\n" + Backend(name: "-data"), "backends[0].name", "^[a-z0-9]");
        yield return Case(Mount + "backends:\n" + Backend() + Backend(config: "{ root: /srv/b }", extra: "    mount_path: /b\n"),
            "backends[1].name", "already used by backends[0]");
        yield return Case(Mount + "backends:\n" + Backend(type: "s4"), "backends[0].type", "\"s4\" is not a known backend type (local, s3, azureblob, gcs, rclone)");
        yield return Case(Mount + "backends:\n" + Backend(extra: "    mount_path: data\n"), "backends[0].mount_path", "not absolute");
        yield return Case(Mount + "backends:\n" + Backend(extra: "    mount_path: /x/../y\n"), "backends[0].mount_path", "..");
        yield return Case(Mount + "backends:\n" + Backend(extra: "    mount_path: /\n"), "backends[0].mount_path", "\"/\" is not allowed");
        yield return Case(Mount + "backends:\n" + Backend(extra: "    mount_path: //\n"), "backends[0].mount_path", "\"/\" is not allowed");
        yield return Case(Mount + "backends:\n" + Backend(extra: "    mount_path: /same\n") + Backend(name: "b", extra: "    mount_path: /same/\n"),
            "backends[1].mount_path", "already used by backends[0]");
        yield return Case(Mount + "backends:\n" + Backend(config: "{}"), "backends[0].config.root", "required for type local (set config.root)");
        yield return Case(Mount + "backends:\n" + Backend(config: "{ root: srv/a }"), "backends[0].config.root", "srv/a");
        yield return Case(Mount + "backends:\n" + Backend(type: "s3", config: "{ region: x }"), "backends[0].config.bucket", "(set config.bucket)");
        yield return Case(Mount + "backends:\n" + Backend(type: "azureblob", config: "{ account: acct }"), "backends[0].config.container", "(set config.container)");
        yield return Case(Mount + "backends:\n" + Backend(type: "azureblob", config: "{ container: c }"), "backends[0].config.account", "config.account or config.endpoint");
        yield return Case(Mount + "backends:\n" + Backend(type: "gcs", config: "{ endpoint: http://127.0.0.1:1 }"), "backends[0].config.bucket", "(set config.bucket)");
        yield return Case(Mount + "backends:\n" + Backend(config: "{ root: /srv/a, follow_symlnks: true }"), "backends[0].config.follow_symlnks",
            "unknown key for type local (allowed: root, serve_in_place)");
        yield return Case(Mount + "backends:\n" + Backend(config: "{ rooot: /srv/a }"), "backends[0].config.rooot", "unknown key for type local, did you mean root?");
        yield return Case(Mount + "backends:\n" + Backend(type: "s3", config: "{ bucket: b, regoin: eu-west-1 }"), "backends[0].config.regoin",
            "did you mean region? (allowed: bucket, region, endpoint, path_style, prefix, access_key_env, secret_key_env, timeout, retry_base_delay, page_size)");
        yield return Case(Mount + "backends:\n" + Backend(type: "azureblob", config: "{ account: a, container: c, sas_token: x }"), "backends[0].config.sas_token",
            "unknown key for type azureblob");
        yield return Case(Mount + "backends:\n" + Backend(type: "gcs", config: "{ bucket: b, projekt: p }"), "backends[0].config.projekt",
            "unknown key for type gcs, did you mean project? (allowed: bucket, endpoint, prefix, project, timeout, retry_base_delay, page_size)");
        yield return Case(Mount + "backends:\n" + Backend(type: "rclone", config: "{ remote: x }"), "backends[0].config.type", "required for type rclone (set config.type)");
        yield return Case(Mount + "backends:\n" + Backend(extra: "    auth: { method: magic }\n"), "backends[0].auth.method",
            "\"magic\" is not a known auth method (managed_identity, service_principal, workload_identity, oidc_federation, gcp_wif, static_keyvault, static, none)");
        yield return Case(Mount + "backends:\n" + Backend(type: "s3", config: "{ bucket: b }", extra: "    auth: { method: oidc_federation, source: pods }\n"), "backends[0].auth.source",
            "\"pods\" is not allowed (node, pod)");
        yield return Case(Mount + "backends:\n" + Backend(type: "s3", config: "{ bucket: b }", extra: "    auth: { method: static_keyvault, source: pod }\n"), "backends[0].auth.source",
            "only oidc_federation (s3), workload_identity (azureblob), gcp_wif (gcs) can do");
        yield return Case(Mount + "backends:\n" + Backend(type: "s3", config: "{ bucket: b }", extra: "    auth: { method: workload_identity, source: pod }\n"), "backends[0].auth.source",
            "a s3 backend with auth.method workload_identity reads with the node's identity");

        yield return Case(Mount + "metrics: { addr: 9090 }\n", "metrics.addr", "[host]:port");
        yield return Case(Mount + "metrics: { addr: \":99999\" }\n", "metrics.addr", ":99999");
        yield return Case(Mount + "control_plane: { rest_addr: \"::1:80\" }\n", "control_plane.rest_addr", "::1:80");
        yield return Case(Mount + "control_plane: { storage_crawl_interval: 0 }\n", "control_plane.storage_crawl_interval", "more than 0");

        yield return Case(Mount + "telemetry: { sink: kafka }\n", "telemetry.sink", "stdout, file, http, grpc, nop");
        yield return Case(Mount + "telemetry: { sample_metadata_ops: 1.5 }\n", "telemetry.sample_metadata_ops", "0 to 1");
        yield return Case(Mount + "telemetry: { sample_metadata_ops: -0.1 }\n", "telemetry.sample_metadata_ops", "-0.1");
        yield return Case(Mount + "telemetry: { batch_size: 0 }\n", "telemetry.batch_size", "at least 1");
        yield return Case(Mount + "telemetry: { flush_interval: 0 }\n", "telemetry.flush_interval", "more than 0");
    }

    [TestCaseSource(nameof(Failures))]
    public void EachFailureNamesItsKey(string yaml, string key, string mentions)
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(yaml, _ => null))!;

        TestContext.Out.WriteLine(error.Message);
        Assert.That(error.Key, Is.EqualTo(key), error.Message);
        Assert.That(error.Message, Does.StartWith(key + ": ").And.Contain(mentions));
    }

    [TestCase("s3", "{ bucket: b }")]
    [TestCase("azureblob", "{ container: c, account: acct }")]
    [TestCase("azureblob", "{ container: c, endpoint: \"http://127.0.0.1:10000/devstoreaccount1\" }")]
    [TestCase("gcs", "{ bucket: b }")]
    [TestCase("rclone", "{ type: sftp, host: h }")]
    [TestCase("local", "{ root: /srv }")]
    public void EachTypeLoadsWithItsRequiredKeys(string type, string config)
    {
        var loaded = ConfigLoader.LoadYaml(Mount + "backends:\n" + Backend(type: type, config: config), _ => null);

        Assert.That(loaded.Backends[0].Type, Is.EqualTo(type));
    }

    [Test]
    public void EveryKnownKeyOfEveryTypeLoads()
    {
        foreach (var (type, keys) in BackendTypes.ConfigKeys)
        {
            var config = "{ " + string.Join(", ", keys.Select(k => $"{k}: /x")) + " }";

            var loaded = ConfigLoader.LoadYaml(Mount + "backends:\n" + Backend(type: type, config: config), _ => null);

            Assert.That(loaded.Backends[0].Config.Keys, Is.EquivalentTo(keys), type);
        }
    }

    [Test]
    public void RcloneTakesTheRemotesOwnOptionsAtLoad()
    {
        // Checked against the rclone binary when the backend is created (warpdrive-node's start), not here.
        var loaded = ConfigLoader.LoadYaml(Mount + "backends:\n" + Backend(type: "rclone", config: "{ type: s3, provider: Minio, list_chunk: 500 }"), _ => null);

        Assert.That(loaded.Backends[0].Config.Keys, Is.EquivalentTo(new[] { "type", "provider", "list_chunk" }));
    }

    [Test]
    public void ABorderlineValidConfigPasses()
    {
        var config = ConfigLoader.LoadYaml(
            Mount + "cache: { block_size: 64KiB, max_size: 64KiB, evict_high_water: 1, evict_low_water: 0.01, readahead_blocks: 0 }\n"
                  + "fuse: { workers: 64, entry_ttl: 0 }\ntelemetry: { sample_metadata_ops: 0 }\n",
            _ => null);

        Assert.That(config.Cache.BlockSize, Is.EqualTo(64 * 1024));
        Assert.That(config.Fuse.Workers, Is.EqualTo(64));
    }

    [Test]
    public void MountPathsAreNormalized()
    {
        var config = ConfigLoader.LoadYaml(Mount + "backends:\n" + Backend(extra: "    mount_path: //data/./sets//\n"), _ => null);

        Assert.That(config.Backends[0].MountPath, Is.EqualTo("/data/sets"));
    }

    [Test]
    public void AConfigBuiltInCodeIsHeldToTheSameRules()
    {
        var config = new NodeConfig
        {
            MountPoint = "/mnt/wd",
            Backends = [new BackendConfig { Name = "a", Type = "local", MountPath = "/a/", Config = new Dictionary<string, string> { ["root"] = "/srv" } }],
        };

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Validate(config))!;
        Assert.That(error.Key, Is.EqualTo("backends[0].mount_path"));
        Assert.That(error.Message, Does.Contain("not normalized"));
    }
}
