using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Csi.V1;
using Grpc.Net.Client;
using NUnit.Framework;

namespace WarpDrive.Csi.Tests;

/// <summary>The real <c>warpdrive-node csi</c> process, as the DaemonSet runs it: serves kubelet's socket, stops cleanly on SIGTERM.</summary>
[NonParallelizable]
public sealed partial class PluginProcessTests
{
    private const int SIGTERM = 15;

    [Test]
    public async Task ThePluginProcessServesTheSocketAndUnmountsOnSigterm()
    {
        var root = Directory.CreateTempSubdirectory("warpdrive-csi-proc-").FullName;
        Process? process = null;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "data"));
            await File.WriteAllTextAsync(Path.Combine(root, "data", "a.txt"), "from the process\n");
            var config = Path.Combine(root, "config.yaml");
            await File.WriteAllTextAsync(config, $"mount_point: /unused\ncache: {{ path: {root}/cache, max_size: 64MiB, block_size: 1MiB }}\nmetrics: {{ enabled: false }}\n"
                + $"backends:\n  - name: data\n    type: local\n    config: {{ root: {root}/data }}\n");
            var socket = Path.Combine(root, "csi.sock");
            await File.WriteAllTextAsync(socket, "stale"); // a leftover socket file must not stop the plugin
            var start = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll"), "csi", "--endpoint", $"unix://{socket}", "--config", config, "--state-dir", Path.Combine(root, "state"), "--log-format", "text" },
                RedirectStandardError = true,
                Environment = { ["NODE_NAME"] = "node-from-env" },
            };
            process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();

            using var channel = PluginProcess.Channel(socket);
            var node = new global::Csi.V1.Node.NodeClient(channel);
            var info = await RetryUntilServing(() => node.NodeGetInfoAsync(new NodeGetInfoRequest()).ResponseAsync, process);
            Assert.That(info.NodeId, Is.EqualTo("node-from-env"));

            var target = Path.Combine(root, "target");
            await node.NodePublishVolumeAsync(PluginFixture.Publish("v", target, "data"));
            Assert.That(await File.ReadAllTextAsync(Path.Combine(target, "a.txt")), Is.EqualTo("from the process\n"));
            await node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "v", TargetPath = target });

            Assert.That(Kill(process.Id, SIGTERM), Is.Zero);
            Assert.That(process.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, "exits after SIGTERM");
            TestContext.Out.WriteLine(await stderr);
            Assert.That(process.ExitCode, Is.Zero);
            Assert.That(MountTable.Read().Any(e => e.MountPoint.StartsWith(root + "/", StringComparison.Ordinal)), Is.False, "nothing left mounted");
        }
        finally
        {
            if (process is { HasExited: false })
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            process?.Dispose();
            foreach (var mount in MountTable.Read().Select(e => e.MountPoint).Where(m => m.StartsWith(root + "/", StringComparison.Ordinal)).OrderByDescending(m => m.Length).ToList())
            {
                BindMounts.Unmount(mount);
            }

            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public async Task ABadEndpointOrConfigIsExitCodeTwo()
    {
        var badEndpoint = await RunToExit("csi", "--endpoint", "tcp://127.0.0.1:1", "--node-id", "n", "--config", "/nonexistent.yaml");
        var badConfig = await RunToExit("csi", "--endpoint", "unix:///tmp/never.sock", "--node-id", "n", "--config", "/nonexistent.yaml");

        Assert.That(badEndpoint.Code, Is.EqualTo(2), badEndpoint.Stderr);
        Assert.That(badEndpoint.Stderr, Does.Contain("--endpoint"));
        Assert.That(badConfig.Code, Is.EqualTo(2), badConfig.Stderr);
        Assert.That(badConfig.Stderr, Does.Contain("config: file \"/nonexistent.yaml\" does not exist"));
    }

    private static async Task<(int Code, string Stderr)> RunToExit(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, stderr);
    }

    /// <summary>The socket appears once the process has started; until then connecting fails.</summary>
    private static async Task<T> RetryUntilServing<T>(Func<Task<T>> call, Process process)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unavailable && attempt < 300 && !process.HasExited)
            {
                await Task.Delay(100);
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
