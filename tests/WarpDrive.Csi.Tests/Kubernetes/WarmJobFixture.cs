using k8s;
using Microsoft.Extensions.Logging;
using WarpDrive.Config;
using WarpDrive.Node.Hosting;
using WarpDrive.Node.Kubernetes;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>
/// A real plugin host started with <c>--kube</c> semantics (its warm-job runner pointed at a
/// <see cref="KubernetesApiTestDouble"/>), with a real block cache and one local backend named <c>team-a-data</c>:
/// what the operator renders on this node for WarpDataSource <c>data</c> in namespace <c>team-a</c>. Node
/// <c>node-1</c> is labelled <c>warpdrive.io/pool=gpu</c>. Stops the host and the double and deletes its temp dir.
/// </summary>
internal sealed class WarmJobFixture : IAsyncDisposable
{
    public const string Node = "node-1";
    public const string Namespace = "team-a";
    public const string Source = "data";
    public static readonly Dictionary<string, string> Labels = new() { ["warpdrive.io/pool"] = "gpu", ["kubernetes.io/hostname"] = Node };

    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Information));

    private WarmJobFixture(string root) => Root = root;

    public string Root { get; }

    public KubernetesApiTestDouble Api { get; private set; } = null!;

    public PluginHost Host { get; private set; } = null!;

    /// <summary>Starts with <paramref name="files"/> (path below the source root → size in bytes) in the source.</summary>
    public static Task<WarmJobFixture> StartAsync(params (string Path, int Size)[] files) => StartAsync(cacheEnabled: true, settings: "", files);

    public static Task<WarmJobFixture> StartAsync(bool cacheEnabled, params (string Path, int Size)[] files) => StartAsync(cacheEnabled, settings: "", files);

    /// <param name="settings">Extra top-level YAML of the node config (e.g. a telemetry section).</param>
    public static async Task<WarmJobFixture> StartAsync(bool cacheEnabled, string settings, params (string Path, int Size)[] files)
    {
        var fixture = new WarmJobFixture(Directory.CreateTempSubdirectory("warpdrive-warm-").FullName);
        try
        {
            var data = Path.Combine(fixture.Root, "data");
            foreach (var (path, size) in files)
            {
                var full = Path.Combine(data, path);
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                var bytes = new byte[size];
                new Random(size).NextBytes(bytes);
                File.WriteAllBytes(full, bytes);
            }

            Directory.CreateDirectory(data);
            var configPath = Path.Combine(fixture.Root, "config.yaml");
            File.WriteAllText(configPath, $"""
                mount_point: /unused-in-csi-mode
                cache: {"{"} enabled: {(cacheEnabled ? "true" : "false")}, path: {fixture.Root}/cache, max_size: 64MiB, block_size: 1MiB {"}"}
                metrics: {"{"} addr: "127.0.0.1:0" {"}"}
                {settings}
                backends:
                  - name: {Namespace}-{Source}
                    type: local
                    config: {"{"} root: {data}, serve_in_place: "false" {"}"}
                """);
            fixture.Api = await KubernetesApiTestDouble.StartAsync(Node, Labels);
            fixture.Host = await PluginHost.StartAsync(new PluginOptions
            {
                SocketPath = Path.Combine(fixture.Root, "csi", "csi.sock"),
                NodeId = Node,
                ConfigPath = configPath,
                StateDirectory = Path.Combine(fixture.Root, "state"),
                Kubernetes = new KubernetesClientConfiguration { Host = fixture.Api.Url.ToString() },
                WarmJobs = new WarmJobRunnerOptions { ReportInterval = TimeSpan.FromMilliseconds(200) },
            }, ConfigLoader.LoadFile(configPath), fixture._loggers);
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    public long SizeOf(string path) => new FileInfo(Path.Combine(Root, "data", path)).Length;

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Host is not null)
            {
                await Host.DisposeAsync();
            }
        }
        finally
        {
            if (Api is not null)
            {
                await Api.DisposeAsync();
            }

            _loggers.Dispose();
            Directory.Delete(Root, recursive: true);
        }
    }
}
