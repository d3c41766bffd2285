using System.Net.Sockets;
using Csi.V1;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using WarpDrive.Config;
using WarpDrive.Csi;
using WarpDrive.Node.Hosting;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// A real plugin host in this process (real FUSE mounts, real bind mounts, gRPC over a real unix socket) over
/// local backends in a temp dir, and a CSI client that dials it the way kubelet does. Cleans up every mount below
/// its temp dir, even after a failed test.
/// </summary>
public sealed partial class PluginFixture : IAsyncDisposable
{
    private readonly ILoggerFactory _loggers = LoggerFactory.Create(b => b.AddSimpleConsole().SetMinimumLevel(LogLevel.Information));
    private GrpcChannel? _channel;

    private PluginFixture(string root) => Root = root;

    public string Root { get; }

    public string ConfigPath => Path.Combine(Root, "config", "config.yaml");

    public string StateDirectory => Path.Combine(Root, "state");

    public string SocketPath => Path.Combine(Root, "csi", "csi.sock");

    public string RegistrationDirectory => Path.Combine(Root, "plugins_registry");

    public PluginHost Host { get; private set; } = null!;

    public Identity.IdentityClient Identity { get; private set; } = null!;

    public global::Csi.V1.Node.NodeClient Node { get; private set; } = null!;

    public Controller.ControllerClient Controller { get; private set; } = null!;

    /// <param name="settings">Extra top-level YAML of the node config (e.g. a telemetry section); {root} is the fixture's temp dir.</param>
    /// <param name="backends">Extra entries of <c>backends:</c>, indented as list items; {root} as above.</param>
    /// <param name="register">Serve kubelet's plugin registration in <see cref="RegistrationDirectory"/> (endpoint: the CSI socket).</param>
    /// <param name="cacheSettings">Extra keys of <c>cache:</c>, e.g. <c>passthrough: "off"</c>.</param>
    /// <param name="serviceAccounts">Where pods' service accounts are read (sources with auth.source: pod).</param>
    public static async Task<PluginFixture> StartAsync(TimeSpan? grace = null, string settings = "", string backends = "", bool register = false, string cacheSettings = "",
        IServiceAccountDirectory? serviceAccounts = null)
    {
        var root = Directory.CreateTempSubdirectory("warpdrive-csi-").FullName;
        var fixture = new PluginFixture(root);
        try
        {
            fixture.WriteData("data-a", ("hello.txt", "hello from team a\n"), ("sub/deep.bin", null));
            fixture.WriteData("shared", ("readme.txt", "shared data\n"));
            Directory.CreateDirectory(Path.GetDirectoryName(fixture.ConfigPath)!);
            fixture.WriteConfig(settings.Replace("{root}", root, StringComparison.Ordinal) + "\n" + fixture.ConfigYaml(backends.Replace("{root}", root, StringComparison.Ordinal), cacheSettings: cacheSettings));
            await fixture.StartHostAsync(grace ?? TimeSpan.Zero, register, serviceAccounts);
            return fixture;
        }
        catch
        {
            await fixture.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The test config: team-a-data owned by team-a (team-b allowed), shared owned by nobody. team-a-data goes through
    /// the block cache (serve_in_place: false), as a network source would, so reads reach the agent and its telemetry.
    /// </summary>
    public string ConfigYaml(string extraBackends = "", string dataARoot = "data-a", string cacheSettings = "") => $"""
        mount_point: /unused-in-csi-mode
        cache: {"{"} path: {Root}/cache, max_size: 64MiB, block_size: 1MiB{(cacheSettings.Length > 0 ? ", " + cacheSettings : "")} {"}"}
        metrics: {"{"} addr: "127.0.0.1:0" {"}"}
        backends:
          - name: team-a-data
            type: local
            config: {"{"} root: {Root}/{dataARoot}, serve_in_place: "false" {"}"}
            mount_path: /data
            namespace: team-a
            allowed_namespaces: [team-b]
          - name: shared
            type: local
            config: {"{"} root: {Root}/shared {"}"}
        {extraBackends}
        """;

    /// <summary>Writes the config as kubelet updates a ConfigMap volume: a new timestamped dir, then a symlink swap.</summary>
    public void WriteConfig(string yaml)
    {
        var directory = Path.GetDirectoryName(ConfigPath)!;
        var version = Path.Combine(directory, $"..{DateTime.UtcNow.Ticks}");
        Directory.CreateDirectory(version);
        File.WriteAllText(Path.Combine(version, "config.yaml"), yaml);
        var data = Path.Combine(directory, "..data");
        var temporary = Path.Combine(directory, "..data_tmp");
        File.CreateSymbolicLink(temporary, Path.GetFileName(version));
        if (Rename(temporary, data) != 0) // rename(2): the atomic swap kubelet does
        {
            throw new IOException($"rename {temporary}: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
        }
        if (!File.Exists(ConfigPath))
        {
            File.CreateSymbolicLink(ConfigPath, "..data/config.yaml");
        }
    }

    public string WriteData(string directory, params (string Path, string? Text)[] files)
    {
        var root = Path.Combine(Root, directory);
        foreach (var (path, text) in files)
        {
            var full = Path.Combine(root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            if (text is null)
            {
                var bytes = new byte[3 * 1024 * 1024 + 123];
                new Random(42).NextBytes(bytes);
                File.WriteAllBytes(full, bytes);
            }
            else
            {
                File.WriteAllText(full, text);
            }
        }

        return root;
    }

    public string Target(string name) => Path.Combine(Root, "pods", name, "volumes", "mount");

    public string SourceMountPoint(string source) => Path.Combine(StateDirectory, "mounts", source);

    /// <summary>FUSE mounts in /proc/self/mounts at the source's mount point.</summary>
    public int FuseMountsOf(string source) =>
        MountTable.Read().Count(e => e.MountPoint == SourceMountPoint(source) && e.FileSystemType.StartsWith("fuse", StringComparison.Ordinal));

    public static NodePublishVolumeRequest Publish(string volumeId, string target, string? source, string? podNamespace = null, bool readOnly = false,
        VolumeCapability.Types.AccessMode.Types.Mode mode = VolumeCapability.Types.AccessMode.Types.Mode.MultiNodeReaderOnly)
    {
        var request = new NodePublishVolumeRequest
        {
            VolumeId = volumeId,
            TargetPath = target,
            Readonly = readOnly,
            VolumeCapability = new VolumeCapability
            {
                Mount = new VolumeCapability.Types.MountVolume(),
                AccessMode = new VolumeCapability.Types.AccessMode { Mode = mode },
            },
        };
        if (source is not null)
        {
            request.VolumeContext[CsiDriver.SourceAttribute] = source;
        }

        if (podNamespace is not null)
        {
            request.VolumeContext[CsiDriver.PodNamespaceAttribute] = podNamespace;
            request.VolumeContext[CsiDriver.PodNameAttribute] = "trainer-0";
        }

        return request;
    }

    /// <summary>A publish request with every pod key kubelet sends when the CSIDriver has podInfoOnMount: true.</summary>
    public static NodePublishVolumeRequest PublishForPod(string volumeId, string target, string source, string podNamespace, string podName, string podUid, string serviceAccount)
    {
        var request = Publish(volumeId, target, source, podNamespace);
        request.VolumeContext[CsiDriver.PodNameAttribute] = podName;
        request.VolumeContext[CsiDriver.PodUidAttribute] = podUid;
        request.VolumeContext[CsiDriver.ServiceAccountAttribute] = serviceAccount;

        return request;
    }

    /// <summary>Waits (bounded) until the config watcher has handled a change; the reload itself is what tests assert.</summary>
    public async Task WaitForReloadAsync(Func<bool> done)
    {
        for (var i = 0; i < 200 && !done(); i++)
        {
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        try
        {
            if (Host is not null)
            {
                await Host.DisposeAsync();
            }
        }
        finally
        {
            DetachEverythingBelowRoot();
            _loggers.Dispose();
            Directory.Delete(Root, recursive: true);
        }
    }

    private async Task StartHostAsync(TimeSpan grace, bool register, IServiceAccountDirectory? serviceAccounts)
    {
        var socket = SocketPath;
        var config = ConfigLoader.LoadFile(ConfigPath);
        Host = await PluginHost.StartAsync(new PluginOptions
        {
            SocketPath = socket,
            NodeId = "node-1",
            ConfigPath = ConfigPath,
            StateDirectory = StateDirectory,
            ReleaseGrace = grace,
            ReloadDebounce = TimeSpan.FromMilliseconds(100),
            Registration = register ? new RegistrationOptions(RegistrationDirectory, socket) : null,
            ServiceAccounts = serviceAccounts,
        }, config, _loggers);

        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await client.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                return new NetworkStream(client, ownsSocket: true);
            },
        };
        _channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = handler });
        Identity = new Identity.IdentityClient(_channel);
        Node = new global::Csi.V1.Node.NodeClient(_channel);
        Controller = new Controller.ControllerClient(_channel);
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int Rename(string from, string to);

    /// <summary>Deepest first, so binds on top of the FUSE mounts go before the mounts they show.</summary>
    private void DetachEverythingBelowRoot()
    {
        var mounts = MountTable.Read().Select(e => e.MountPoint).Where(m => m.StartsWith(Root + "/", StringComparison.Ordinal))
            .Distinct().OrderByDescending(m => m.Length).ToList();
        foreach (var mount in mounts)
        {
            TestContext.Out.WriteLine($"cleanup: detaching {mount}");
            BindMounts.Unmount(mount);
        }
    }
}
