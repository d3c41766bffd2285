using k8s;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using WarpDrive.Config;
using WarpDrive.Node.Hosting;
using WarpDrive.Node.Kubernetes;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>
/// <see cref="ConfigMapMirror"/> against <see cref="KubernetesApiTestDouble"/>: the node's ConfigMap becomes its config
/// file, and stays so; one test runs a real <see cref="PluginHost"/> (real FUSE mount) that reloads from it.
/// </summary>
[NonParallelizable]
public sealed class ConfigMapMirrorTests
{
    private const string Namespace = "warpdrive";
    private const string Name = "warpdrive-node-node-1";
    private static readonly NodeConfigMapName Source = new(Namespace, Name);
    private static readonly ConfigMapMirrorOptions Fast = new() { InitialBackoff = TimeSpan.FromMilliseconds(50), MaxBackoff = TimeSpan.FromMilliseconds(200) };

    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Information));
    private string _root = null!;
    private KubernetesApiTestDouble _api = null!;

    /// <summary>Below a directory that does not exist yet: the mirror creates it.</summary>
    private string ConfigPath => Path.Combine(_root, "etc", "warpdrive", "config.yaml");

    private string SourcesPath => Path.Combine(_root, "etc", "warpdrive", "sources.yaml");

    [SetUp]
    public async Task StartApi()
    {
        _root = Directory.CreateTempSubdirectory("warpdrive-cm-").FullName;
        _api = await KubernetesApiTestDouble.StartAsync("node-1", []);
    }

    [TearDown]
    public async Task StopApi()
    {
        await _api.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [OneTimeTearDown]
    public void DisposeLoggers() => _loggers.Dispose();

    [Test]
    public async Task TheConfigFileAndSourcesFileGetTheConfigMapsContent()
    {
        _api.PutConfigMap(Namespace, Name, Data("backends: []\n", "sources: [a]\n"));

        await using var mirror = await StartMirrorAsync();

        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(ConfigPath), Is.EqualTo("backends: []\n"));
            Assert.That(File.ReadAllText(SourcesPath), Is.EqualTo("sources: [a]\n"));
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(ConfigPath)!).Select(Path.GetFileName), Is.EquivalentTo(new[] { "config.yaml", "sources.yaml" }), "no temp file left");
            Assert.That(mirror.Writes, Is.EqualTo(2));
        });
    }

    [Test]
    public async Task AStartBeforeTheConfigMapExistsWaitsThenProceeds()
    {
        var starting = StartMirrorAsync();
        await WaitUntil(() => _api.ConfigMapGets >= 3);
        Assert.Multiple(() =>
        {
            Assert.That(starting.IsCompleted, Is.False, "still waiting for the ConfigMap");
            Assert.That(File.Exists(ConfigPath), Is.False);
        });

        _api.PutConfigMap(Namespace, Name, Data("backends: []\n"));
        await using var mirror = await starting.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(File.ReadAllText(ConfigPath), Is.EqualTo("backends: []\n"));
    }

    [Test]
    public async Task CancellingTheWaitStopsTheStart()
    {
        using var stop = new CancellationTokenSource();
        var starting = StartMirrorAsync(stop.Token);
        await WaitUntil(() => _api.ConfigMapGets >= 2);

        await stop.CancelAsync();

        Assert.That(async () => await starting.WaitAsync(TimeSpan.FromSeconds(30)), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task AnUnchangedModifiedEventDoesNotRewriteTheFile()
    {
        _api.PutConfigMap(Namespace, Name, Data("version: 1\n", "s: 1\n"));
        await using var mirror = await StartMirrorAsync();
        await WaitUntil(() => _api.OpenWatches == 1);
        var writes = mirror.Writes;

        _api.PutConfigMap(Namespace, Name, Data("version: 1\n", "s: 1\n")); // MODIFIED, same data (e.g. a label changed)
        _api.PutConfigMap(Namespace, Name, Data("version: 2\n", "s: 1\n")); // events arrive in order: this one comes after
        await WaitForWrite(mirror, "version: 2\n", writes);

        Assert.That(mirror.Writes, Is.EqualTo(writes + 1), "only the changed config.yaml was written");
    }

    [Test]
    public async Task ADroppedWatchResumesAndA410ReadsAgain()
    {
        _api.PutConfigMap(Namespace, Name, Data("version: 1\n"));
        await using var mirror = await StartMirrorAsync();
        await WaitUntil(() => _api.OpenWatches == 1);
        var gets = _api.ConfigMapGets;

        _api.DropWatches();
        await WaitUntil(() => _api.ConfigMapWatches == 2 && _api.OpenWatches == 1);
        _api.PutConfigMap(Namespace, Name, Data("version: 2\n"));
        await WaitForWrite(mirror, "version: 2\n", 1);
        Assert.That(_api.ConfigMapGets, Is.EqualTo(gets + 1), "one GET after the dropped watch");

        // The watch ends; the ConfigMap's own version is now too old to watch from (410), so the mirror reads it
        // again and watches from the newest version.
        _api.ExpireVersionsAndEndWatches();
        await WaitUntil(() => _api.ConfigMapWatches == 4 && _api.OpenWatches == 1);
        _api.PutConfigMap(Namespace, Name, Data("version: 3\n"));
        await WaitForWrite(mirror, "version: 3\n", 2);

        Assert.Multiple(() =>
        {
            Assert.That(_api.ConfigMapGets, Is.EqualTo(gets + 3), "one GET after the watch ended, one after the 410, then no GET/410 loop");
            Assert.That(mirror.Writes, Is.EqualTo(3), "the state sent at the start of the newest-version watch was not written again");
        });
    }

    [Test]
    public async Task ADeletedConfigMapKeepsTheLastFileAndARecreatedOneIsFollowed()
    {
        _api.PutConfigMap(Namespace, Name, Data("version: 1\n"));
        await using var mirror = await StartMirrorAsync();
        await WaitUntil(() => _api.OpenWatches == 1);

        _api.DeleteConfigMap(Namespace, Name);
        _api.PutConfigMap(Namespace, Name, Data("version: 2\n"));
        await WaitForWrite(mirror, "version: 2\n", 1);

        Assert.That(mirror.Writes, Is.EqualTo(2), "the delete wrote nothing");
    }

    [Test]
    public async Task ARunningPluginReloadsWhenTheConfigMapChanges()
    {
        Directory.CreateDirectory(Path.Combine(_root, "data"));
        File.WriteAllText(Path.Combine(_root, "data", "hello.txt"), "from the new source\n");
        _api.PutConfigMap(Namespace, Name, Data(PluginConfig(withFresh: false)));
        var mirror = await StartMirrorAsync();
        PluginHost host;
        try
        {
            host = await PluginHost.StartAsync(new PluginOptions
            {
                SocketPath = Path.Combine(_root, "csi", "csi.sock"),
                NodeId = "node-1",
                ConfigPath = ConfigPath,
                StateDirectory = Path.Combine(_root, "state"),
                ReleaseGrace = TimeSpan.Zero,
                ReloadDebounce = TimeSpan.FromMilliseconds(100),
            }, ConfigLoader.LoadFile(ConfigPath), _loggers, mirror);
        }
        catch
        {
            await mirror.DisposeAsync();
            throw;
        }

        await using (host)
        {
            Assert.That(host.Sources.Find("fresh"), Is.Null);

            _api.PutConfigMap(Namespace, Name, Data(PluginConfig(withFresh: true)));
            await WaitUntil(() => host.Watcher.Reloads == 1);

            var fresh = host.Sources.Find("fresh");
            Assert.That(fresh, Is.Not.Null, host.Watcher.LastError);
            var mountPoint = await host.Sources.AcquireAsync(fresh!, "test", null, CancellationToken.None);
            Assert.That(File.ReadAllText(Path.Combine(mountPoint, "hello.txt")), Is.EqualTo("from the new source\n"));
            await host.Sources.ReleaseAsync("fresh", "test");
        }
    }

    private static Dictionary<string, string> Data(string config, string? sources = null)
    {
        var data = new Dictionary<string, string> { [ConfigMapMirror.ConfigKey] = config };
        if (sources is not null)
        {
            data[ConfigMapMirror.SourcesKey] = sources;
        }

        return data;
    }

    private string PluginConfig(bool withFresh) => $"""
        mount_point: /unused-in-csi-mode
        cache: {"{"} enabled: false {"}"}
        metrics: {"{"} enabled: false {"}"}
        backends:
          - name: other
            type: local
            config: {"{"} root: {_root} {"}"}
        {(withFresh ? $"  - name: fresh\n    type: local\n    config: {{ root: {_root}/data }}\n" : "")}
        """;

    private Task<ConfigMapMirror> StartMirrorAsync(CancellationToken cancellationToken = default) =>
        ConfigMapMirror.StartAsync(new k8s.Kubernetes(new KubernetesClientConfiguration { Host = _api.Url.ToString() }), Source, ConfigPath, _loggers, Fast, cancellationToken);

    /// <summary>
    /// Until the config file holds <paramref name="text"/> and the mirror has counted the write. The file is renamed
    /// into place before <see cref="ConfigMapMirror.Writes"/> is incremented, so under load a test that only watched
    /// the file could read the counter between the two.
    /// </summary>
    private async Task WaitForWrite(ConfigMapMirror mirror, string text, int writesBefore) =>
        await WaitUntil(() => File.Exists(ConfigPath) && File.ReadAllText(ConfigPath) == text && mirror.Writes > writesBefore);

    private static async Task WaitUntil(Func<bool> done)
    {
        for (var i = 0; i < 600 && !done(); i++)
        {
            await Task.Delay(50);
        }

        Assert.That(done(), Is.True, "condition never held");
    }
}
