using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Csi.V1;
using Grpc.Core;
using Grpc.Net.Client;
using NUnit.Framework;
using WarpDrive.Node.Kubernetes;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>
/// The real <c>warpdrive-node csi --kube</c> process with the DaemonSet's environment, its API server being a
/// <see cref="KubernetesApiTestDouble"/> named by a kubeconfig: it waits for its ConfigMap, then serves; SIGTERM stops it
/// while it waits.
/// </summary>
[NonParallelizable]
public sealed partial class CsiKubeProcessTests
{
    private const int SIGTERM = 15;
    private const string Node = "node-1";
    private const string Namespace = "warpdrive";
    private const string ConfigMap = "warpdrive-node-node-1";

    private string _root = null!;
    private KubernetesApiTestDouble _api = null!;
    private Process? _process;

    private string Socket => Path.Combine(_root, "csi.sock");

    private string ConfigPath => Path.Combine(_root, "etc", "config.yaml");

    [SetUp]
    public async Task StartApi()
    {
        _root = Directory.CreateTempSubdirectory("warpdrive-csi-kube-").FullName;
        _api = await KubernetesApiTestDouble.StartAsync(Node, []);
    }

    [TearDown]
    public async Task StopAll()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        await _api.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task ItWaitsForItsConfigMapThenServes()
    {
        var stderr = Start();
        await WaitUntil(() => _api.ConfigMapGets >= 2 || _process!.HasExited);
        Assert.Multiple(() =>
        {
            Assert.That(_process!.HasExited, Is.False, "waits for the ConfigMap");
            Assert.That(File.Exists(Socket), Is.False, "serves nothing before it has a config");
        });

        _api.PutConfigMap(Namespace, ConfigMap, new() { [ConfigMapMirror.ConfigKey] = $"mount_point: /unused\ncache: {{ enabled: false }}\nmetrics: {{ enabled: false }}\nbackends: []\n" });
        using var channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = UnixHandler(Socket) });
        var info = await ServingAsync(() => new global::Csi.V1.Node.NodeClient(channel).NodeGetInfoAsync(new NodeGetInfoRequest()).ResponseAsync);
        Assert.That(info.NodeId, Is.EqualTo(Node));
        Assert.That(File.ReadAllText(ConfigPath), Does.Contain("backends: []"));

        await StopAsync(stderr);
    }

    [Test]
    public async Task SigtermStopsItWhileItWaits()
    {
        var stderr = Start();
        await WaitUntil(() => _api.ConfigMapGets >= 2 || _process!.HasExited);
        Assert.That(_process!.HasExited, Is.False, "waits for the ConfigMap");

        var output = await StopAsync(stderr);

        Assert.That(output, Does.Contain($"waiting for ConfigMap {Namespace}/{ConfigMap}"));
    }

    [Test]
    public async Task WithoutAConfigMapNameItIsExitCodeTwo()
    {
        var stderr = Start(withConfigMapName: false);
        Assert.That(_process!.WaitForExit(TimeSpan.FromSeconds(60)), Is.True);
        var output = await stderr;
        Assert.Multiple(() =>
        {
            Assert.That(_process.ExitCode, Is.EqualTo(2), output);
            Assert.That(output, Does.Contain("WARPDRIVE_CONFIGMAP").And.Contain("--configmap"));
        });
    }

    /// <returns>stderr, read to the end.</returns>
    private Task<string> Start(bool withConfigMapName = true)
    {
        var kubeconfig = Path.Combine(_root, "kubeconfig");
        File.WriteAllText(kubeconfig, $"""
            apiVersion: v1
            kind: Config
            clusters: [{"{"}name: test, cluster: {"{"}server: "{_api.Url.ToString().TrimEnd('/')}"{"}"}{"}"}]
            users: [{"{"}name: test, user: {"{"}token: test-token{"}"}{"}"}]
            contexts: [{"{"}name: test, context: {"{"}cluster: test, user: test{"}"}{"}"}]
            current-context: test
            """);
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll"), "csi", "--kube", "--endpoint", $"unix://{Socket}", "--config", ConfigPath,
                "--state-dir", Path.Combine(_root, "state"), "--log-format", "text",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["NODE_NAME"] = Node, ["POD_NAMESPACE"] = Namespace, ["KUBECONFIG"] = kubeconfig },
        };
        if (withConfigMapName)
        {
            start.Environment["WARPDRIVE_CONFIGMAP"] = ConfigMap;
        }
        else
        {
            start.Environment.Remove("WARPDRIVE_CONFIGMAP");
        }

        _process = Process.Start(start)!;
        var stdout = _process.StandardOutput.ReadToEndAsync();
        var stderr = _process.StandardError.ReadToEndAsync();
        return Task.WhenAll(stdout, stderr).ContinueWith(t => t.Result[0] + t.Result[1], TaskScheduler.Default);
    }

    /// <returns>Everything the process wrote.</returns>
    private async Task<string> StopAsync(Task<string> output)
    {
        Assert.That(Kill(_process!.Id, SIGTERM), Is.Zero);
        Assert.That(_process.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, "exits after SIGTERM");
        var text = await output;
        TestContext.Out.WriteLine(text);
        Assert.That(_process.ExitCode, Is.Zero, text);
        return text;
    }

    private async Task<T> ServingAsync<T>(Func<Task<T>> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (RpcException) when (attempt < 300 && !_process!.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task WaitUntil(Func<bool> done)
    {
        for (var i = 0; i < 600 && !done(); i++)
        {
            await Task.Delay(50);
        }
    }

    private static SocketsHttpHandler UnixHandler(string socket) => new()
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var client = new System.Net.Sockets.Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await client.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
            return new NetworkStream(client, ownsSocket: true);
        },
    };

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
