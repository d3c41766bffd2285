using k8s;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using WarpDrive.Config;
using WarpDrive.Node.Kubernetes;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>
/// <see cref="SourceStatusReporter"/> against <see cref="KubernetesApiTestDouble"/> (no API server runs here): real
/// backends are probed (a local directory; an S3 endpoint on a closed port of 127.0.0.1), and this node's entry of
/// each WarpDataSource's <c>status.nodes</c> is applied with its own field manager, once per change of outcome.
/// </summary>
[NonParallelizable]
public sealed class SourceStatusReporterTests
{
    private const string Node = "node-1";
    private const string KeyVariable = "WARPDRIVE_CSI_TEST_REPORTER_KEY";
    private const string KeyValue = "reporter-secret-value";
    private static readonly SourceReporterOptions Fast = new()
    {
        CheckInterval = TimeSpan.FromMilliseconds(100),
        ProbeInterval = TimeSpan.FromMilliseconds(200),
        RetryInterval = TimeSpan.FromMilliseconds(200),
    };

    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Information));
    private string _root = null!;
    private KubernetesApiTestDouble _api = null!;

    [SetUp]
    public async Task Start()
    {
        _root = Directory.CreateTempSubdirectory("warpdrive-reporter-").FullName;
        Directory.CreateDirectory(Path.Combine(_root, "data", "train"));
        await File.WriteAllBytesAsync(Path.Combine(_root, "data", "train", "shard-0.tar"), new byte[4096]);
        Environment.SetEnvironmentVariable(KeyVariable, KeyValue);
        _api = await KubernetesApiTestDouble.StartAsync(Node, []);
    }

    [TearDown]
    public async Task Stop()
    {
        await _api.DisposeAsync();
        Environment.SetEnvironmentVariable(KeyVariable, null);
        Directory.Delete(_root, recursive: true);
    }

    [OneTimeTearDown]
    public void DisposeLoggers() => _loggers.Dispose();

    [Test]
    public async Task Each_source_gets_this_nodes_entry_once_and_an_unreachable_one_says_why_in_a_sentence()
    {
        _api.PutSource("team-a", "data");
        _api.PutSource("team-a", "nowhere");
        var config = Config(withNowhere: true);

        await using (var reporter = Start(() => config))
        {
            await WaitUntil(() => _api.SourceEntries("team-a", "data").Count == 1 && _api.SourceEntries("team-a", "nowhere").Count == 1);
            var probes = reporter.Probes;
            await WaitUntil(() => reporter.Probes >= probes + 6); // probed again and again, with the same outcomes

            var data = _api.SourceEntries("team-a", "data").Single();
            var nowhere = _api.SourceEntries("team-a", "nowhere").Single();
            var applies = _api.SourceApplies;
            Assert.Multiple(() =>
            {
                Assert.That((data.Node, data.Reachable, data.Reason), Is.EqualTo((Node, true, "Reachable")));
                Assert.That(data.LastTransitionTime, Is.Not.Null);
                Assert.That((nowhere.Node, nowhere.Reachable), Is.EqualTo((Node, false)));
                Assert.That(nowhere.Reason, Is.AnyOf("Unreachable", "Timeout"));
                Assert.That(nowhere.Message, Does.Not.Contain("Exception").And.Not.Contain(KeyValue).And.Not.Contain("\n"));
                Assert.That(applies.Select(a => a.Name), Is.EquivalentTo(new[] { "data", "nowhere", "gone" }),
                    "one apply per source while its outcome stays the same; a source without a namespace (standalone) is not reported; a 404 is not retried");
                Assert.That(applies.Select(a => (a.FieldManager, a.Force)), Is.All.EqualTo(("warpdrive-node/node-1", true)));
                Assert.That(applies.Select(a => a.ContentType), Is.All.StartWith("application/apply-patch"));
                Assert.That(applies.Select(a => a.Body.ToJsonString()), Is.All.Not.Contain("\"spec\"").And.Not.Contain(KeyValue));
                Assert.That(applies.Select(a => a.Body["status"]!["nodes"]!.AsArray().Count), Is.All.EqualTo(1), "only this node's entry");
            });
        }
    }

    [Test]
    public async Task A_source_that_leaves_the_config_gives_its_entry_up_and_an_unchanged_one_is_not_applied_again()
    {
        _api.PutSource("team-a", "data");
        _api.PutSource("team-a", "nowhere");
        var config = Config(withNowhere: true);
        await using var reporter = Start(() => Volatile.Read(ref config));
        await WaitUntil(() => _api.SourceEntries("team-a", "data").Count == 1 && _api.SourceEntries("team-a", "nowhere").Count == 1);

        Volatile.Write(ref config, Config(withNowhere: false)); // a reload: new objects for every backend
        await WaitUntil(() => _api.SourceEntries("team-a", "nowhere").Count == 0);
        var probes = reporter.Probes;
        await WaitUntil(() => reporter.Probes >= probes + 3);

        var applies = _api.SourceApplies;
        Assert.Multiple(() =>
        {
            Assert.That(applies.Last(a => a.Name == "nowhere").Body["status"]!.AsObject(), Is.Empty, "an empty status gives the entry up");
            Assert.That(applies.Count(a => a.Name == "data"), Is.EqualTo(1), "re-probed after the reload, same outcome: not applied again");
            Assert.That(_api.SourceEntries("team-a", "data").Single().Reachable, Is.True);
        });
    }

    private SourceStatusReporter Start(Func<NodeConfig> config) =>
        SourceStatusReporter.Start(new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url.ToString() }), Node, config, _loggers, Fast);

    /// <summary>What the operator renders for sources data, nowhere and gone of team-a, plus a standalone backend.</summary>
    private NodeConfig Config(bool withNowhere)
    {
        var nowhere = withNowhere
            ? $"""
                  - name: team-a-nowhere
                    type: s3
                    namespace: team-a
                    config:
                      bucket: missing
                      endpoint: "http://127.0.0.1:1"
                      path_style: true
                      timeout: 2s
                    auth:
                      method: static
                      access_key_env: {KeyVariable}
                      secret_key_env: {KeyVariable}
                """
            : "";
        return ConfigLoader.LoadYaml($"""
            mount_point: {_root}/mnt
            cache: {"{"} path: {_root}/cache {"}"}
            metrics: {"{"} enabled: false {"}"}
            backends:
              - name: team-a-data
                type: local
                namespace: team-a
                config: {"{"} root: {_root}/data {"}"}
              - name: team-a-gone
                type: local
                namespace: team-a
                mount_path: /team-a/gone
                config: {"{"} root: {_root}/data {"}"}
              - name: standalone
                type: local
                config: {"{"} root: {_root}/data {"}"}
            {nowhere}
            """);
    }

    private static async Task WaitUntil(Func<bool> done)
    {
        for (var i = 0; i < 600 && !done(); i++)
        {
            await Task.Delay(50);
        }

        Assert.That(done(), Is.True, "condition never held");
    }
}
