using System.Net.Sockets;
using Csi.V1;
using NUnit.Framework;
using PluginRegistration.V1;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// The plugin registers itself with kubelet (no node-driver-registrar): the real <c>warpdrive-node csi</c> process
/// serves kubelet's registration API on a real unix socket, and <see cref="KubeletPluginWatcherTestDouble"/> does
/// what kubelet's plugin watcher does with it.
/// </summary>
[NonParallelizable]
public sealed class KubeletRegistrationTests
{
    private string _root = null!;

    [SetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("warpdrive-csi-reg-").FullName;

    [TearDown]
    public void RemoveRoot()
    {
        ProcessTestFiles.DetachEverythingBelow(_root);
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task KubeletRegistersThePluginThroughItsSocketWhichReplacesAStaleOneAndIsRemovedOnExit()
    {
        var registry = Path.Combine(_root, "plugins_registry");
        var registrationSocket = Path.Combine(registry, "csi.warpdrive.io-reg.sock");
        Directory.CreateDirectory(registry);
        LeaveStaleSocket(registrationSocket); // as a plugin killed with SIGKILL leaves it
        var csiSocket = Path.Combine(_root, "plugins", "csi.warpdrive.io", "csi.sock");

        using var plugin = await PluginProcess.StartAsync(csiSocket, [.. ProcessTestFiles.ConfigArgs(_root), "--registration-dir", registry, "--kubelet-registration-path", csiSocket]);
        var kubelet = new KubeletPluginWatcherTestDouble(registrationSocket);
        var (info, node) = await kubelet.RegisterAsync();
        var socketWhileServing = File.Exists(registrationSocket);

        Assert.That(plugin.Stop(PluginProcess.SIGTERM), Is.True, "exits after SIGTERM");
        TestContext.Out.WriteLine(plugin.Stderr);
        Assert.Multiple(() =>
        {
            Assert.That(info.Type, Is.EqualTo("CSIPlugin"));
            Assert.That(info.Name, Is.EqualTo("csi.warpdrive.io"));
            Assert.That(info.Endpoint, Is.EqualTo(csiSocket));
            Assert.That(info.SupportedVersions, Does.Contain("1.0.0"));
            Assert.That(node.NodeId, Is.EqualTo("node-1"), "kubelet's NodeGetInfo over the endpoint it was given");
            Assert.That(plugin.Stderr, Does.Contain("kubelet registered csi.warpdrive.io"));
            Assert.That(plugin.Stderr, Does.Contain("replacing the stale registration socket"));
            Assert.That(socketWhileServing, Is.True);
            Assert.That(plugin.ExitCode, Is.Zero);
            Assert.That(File.Exists(registrationSocket), Is.False, "removed on a clean exit, so kubelet deregisters the driver");
        });
    }

    [Test]
    public async Task ARefusedRegistrationMakesHealthzFailSoTheLivenessProbeRestartsThePlugin()
    {
        await using var plugin = await PluginFixture.StartAsync(register: true);
        using var channel = PluginProcess.Channel(Path.Combine(plugin.RegistrationDirectory, "csi.warpdrive.io-reg.sock"));
        var registration = new Registration.RegistrationClient(channel);

        await registration.GetInfoAsync(new InfoRequest());
        var before = plugin.Host.Health.Run();
        await registration.NotifyRegistrationStatusAsync(new RegistrationStatus { PluginRegistered = false, Error = "endpoint not dialable" });
        var after = plugin.Host.Health.Run();

        Assert.Multiple(() =>
        {
            Assert.That(before.StatusCode, Is.EqualTo(200), before.Json);
            Assert.That(after.StatusCode, Is.EqualTo(503));
            Assert.That(after.Json, Does.Contain("kubelet_registration").And.Contain("endpoint not dialable"));
        });
    }

    [Test]
    public async Task WithoutRegistrationDirNoRegistrationSocketIsServed()
    {
        var registry = Path.Combine(_root, "plugins_registry");
        Directory.CreateDirectory(registry);

        using var plugin = await PluginProcess.StartAsync(Path.Combine(_root, "csi.sock"), ProcessTestFiles.ConfigArgs(_root));

        Assert.That(Directory.EnumerateFileSystemEntries(registry), Is.Empty, "the node-driver-registrar sidecar registers instead");
        Assert.That(plugin.Stop(PluginProcess.SIGTERM), Is.True);
    }

    [Test]
    public async Task ARelativeKubeletRegistrationPathIsAUsageError()
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardError = true };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll"), "csi", "--endpoint", "unix:///tmp/never.sock", "--node-id", "n",
            "--registration-dir", Path.Combine(_root, "reg"), "--kubelet-registration-path", "csi.sock" })
        {
            start.ArgumentList.Add(arg);
        }

        using var plugin = System.Diagnostics.Process.Start(start)!;
        var stderr = await plugin.StandardError.ReadToEndAsync();
        await plugin.WaitForExitAsync();

        Assert.That(plugin.ExitCode, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("--kubelet-registration-path \"csi.sock\""));
    }

    /// <summary>
    /// A unix socket file nobody listens on. .NET unlinks the path it bound when the socket closes, so the file is
    /// renamed into place first: what is left is a socket inode with no listener, as a killed process leaves it.
    /// </summary>
    private static void LeaveStaleSocket(string path)
    {
        var bound = path + ".bound";
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            socket.Bind(new UnixDomainSocketEndPoint(bound));
            socket.Listen();
            File.Move(bound, path);
        }

        Assert.That(File.Exists(path), Is.True, "the stale socket file is there");
    }
}

/// <summary>
/// A test double of kubelet's plugin watcher (pkg/kubelet/pluginmanager), which cannot run here: dials a socket
/// in plugins_registry, asks GetInfo, checks it the way kubelet's CSI handler does, dials the CSI endpoint it
/// names (NodeGetInfo), and reports success with NotifyRegistrationStatus.
/// </summary>
public sealed class KubeletPluginWatcherTestDouble(string registrationSocket)
{
    public async Task<(PluginInfo Info, NodeGetInfoResponse Node)> RegisterAsync()
    {
        using var channel = PluginProcess.Channel(registrationSocket);
        var registration = new Registration.RegistrationClient(channel);
        var info = await registration.GetInfoAsync(new InfoRequest());
        if (info.Type != "CSIPlugin" || !info.SupportedVersions.Any(v => v.StartsWith("1.", StringComparison.Ordinal)))
        {
            await registration.NotifyRegistrationStatusAsync(new RegistrationStatus { PluginRegistered = false, Error = "not a CSI v1 plugin" });
            throw new AssertionException($"kubelet would refuse {info}");
        }

        using var csi = PluginProcess.Channel(info.Endpoint);
        var node = await new global::Csi.V1.Node.NodeClient(csi).NodeGetInfoAsync(new NodeGetInfoRequest());
        await registration.NotifyRegistrationStatusAsync(new RegistrationStatus { PluginRegistered = true });
        return (info, node);
    }
}
