using System.Diagnostics;
using System.Security.Cryptography;
using Csi.V1;
using NUnit.Framework;
using WarpDrive.Tests.Shared;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// The CSI plugin with fd holders, as the DaemonSet runs it: a holder per pod in a directory shared on the node. A
/// reader streams a large file through a published volume while the plugin is SIGKILLed and restarted (a container
/// crash), and while a newer pod's plugin takes the node over (a rolling update); it reads every byte, with the right
/// checksum, and the gap is printed. Real holder and plugin processes, real FUSE and bind mounts.
/// </summary>
[NonParallelizable]
public sealed class FdHolderTests
{
    /// <summary>256 MiB at 1 MiB per read with 20 ms pauses: the reader is mid-file for 5 s or more.</summary>
    private const int FileSize = 256 << 20;

    private string _root = null!;
    private byte[] _expected = null!;
    private readonly List<PluginProcess> _processes = [];

    private string Socket => Path.Combine(_root, "csi.sock");

    private string Target => Path.Combine(_root, "pods", "p1", "volumes", "data");

    private string SourceMount => Path.Combine(_root, "state", "mounts", "data");

    [SetUp]
    public void CreateRoot()
    {
        _root = Directory.CreateTempSubdirectory("warpdrive-csi-holder-").FullName;
        var bytes = new byte[FileSize];
        new Random(14).NextBytes(bytes);
        Directory.CreateDirectory(Path.Combine(_root, "data"));
        File.WriteAllBytes(Path.Combine(_root, "data", "shard.bin"), bytes);
        _expected = SHA256.HashData(bytes);
        // Not served in place: every read goes through the plugin's cache, so the plugin's absence is felt.
        File.WriteAllText(Path.Combine(_root, "config.yaml"),
            $"mount_point: /unused\ncache: {{ path: {_root}/cache, max_size: 1GiB, block_size: 1MiB }}\nmetrics: {{ enabled: false }}\n"
            + $"backends:\n  - name: data\n    type: local\n    config: {{ root: {_root}/data, serve_in_place: false }}\n");
    }

    [TearDown]
    public void RemoveRoot()
    {
        foreach (var process in _processes)
        {
            process.Dispose(); // SIGKILL by pid if still running
        }

        _processes.Clear(); // one fixture instance serves every test

        ProcessTestFiles.DetachEverythingBelow(_root);
        Directory.Delete(_root, recursive: true);
    }

    [Test]
    public async Task A_reader_keeps_reading_every_byte_while_the_plugin_is_SIGKILLed_and_restarted()
    {
        await StartHolderAsync("pod-a");
        var first = await StartPluginAsync("pod-a");
        await first.Node.NodePublishVolumeAsync(PluginFixture.Publish("data", Target, "data"));
        await using var reader = StreamingReader.Start(Path.Combine(Target, "shard.bin"));
        await reader.WaitForAsync(16 << 20);

        Assert.That(first.Stop(PluginProcess.SIGKILL), Is.True);
        var atKill = reader.BytesRead;
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.That(reader.Completion.IsCompleted, Is.False, "the reader waits while no plugin runs; it does not fail");

        var second = await StartPluginAsync("pod-a");
        await WaitForAsync(() => second.Stderr.Contains("took over data source data", StringComparison.Ordinal), "the restarted plugin takes the mount back");
        reader.Unthrottle();
        var result = await reader.Completion.WaitAsync(TimeSpan.FromMinutes(2));

        result.Report("plugin SIGKILL + restart", FileSize, atKill);
        result.AssertEveryByte(FileSize, _expected, atKill);
        Assert.That(FuseMountsAt(SourceMount), Is.EqualTo(1), "the same mount, not a second one stacked on it");

        // The publication made before the crash is known, and unpublishes cleanly.
        await second.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "data", TargetPath = Target });
        Assert.That(second.Stop(PluginProcess.SIGTERM), Is.True);
        Assert.That(ProcessTestFiles.MountsBelow(_root), Is.Empty, "nothing left mounted");
    }

    [Test]
    public async Task A_newer_pods_plugin_takes_the_node_over_while_a_reader_streams_and_the_old_one_stands_by()
    {
        await StartHolderAsync("pod-old");
        var old = await StartPluginAsync("pod-old");
        await old.Node.NodePublishVolumeAsync(PluginFixture.Publish("data", Target, "data"));
        await using var reader = StreamingReader.Start(Path.Combine(Target, "shard.bin"));
        await reader.WaitForAsync(16 << 20);

        // The rolling update: the new pod's holder, then its plugin, beside the old pod's.
        var newHolder = await StartHolderAsync("pod-new");
        var atTakeOver = reader.BytesRead;
        var successor = PluginProcess.Launch(Socket, PluginArgs("pod-new"));
        _processes.Add(successor);
        Assert.That(old.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "the old plugin lets go and exits by itself");
        Assert.Multiple(() =>
        {
            Assert.That(old.ExitCode, Is.Zero);
            Assert.That(old.Stderr, Does.Contain("exiting without unmounting"));
        });
        await WaitForAsync(() => successor.Stderr.Contains("took over data source data", StringComparison.Ordinal), "the new plugin serves the mount it took");
        reader.Unthrottle();
        var result = await reader.Completion.WaitAsync(TimeSpan.FromMinutes(2));
        result.Report("take-over by a newer pod's plugin", FileSize, atTakeOver);
        result.AssertEveryByte(FileSize, _expected, atTakeOver);

        // The old pod's container restarts (kubelet restarts what exited): it must not compete for the node.
        var restarted = PluginProcess.Launch(Socket, PluginArgs("pod-old"));
        _processes.Add(restarted);
        await WaitForAsync(() => restarted.Stderr.Contains("this pod is being replaced", StringComparison.Ordinal), "the restarted old plugin stands by");
        Assert.That(File.ReadAllBytes(Path.Combine(Target, "shard.bin")).Length, Is.EqualTo(FileSize), "the new plugin still serves");

        // The new plugin serves kubelet: the volume published by the old one unpublishes cleanly.
        await successor.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "data", TargetPath = Target });
        Assert.That(ProcessTestFiles.MountsBelow(_root), Is.Empty, "the last unpublish released the source (grace 0)");

        // A rollback: the new pod goes away; the standing-by plugin exits so that its container restarts and serves.
        Assert.That(successor.Stop(PluginProcess.SIGTERM), Is.True);
        Assert.That(newHolder.Stop(PluginProcess.SIGTERM), Is.True);
        Assert.That(restarted.WaitForExit(TimeSpan.FromSeconds(30)), Is.True, "the stand-by notices its successor is gone");
        Assert.That(restarted.ExitCode, Is.EqualTo(1));
    }

    private string[] PluginArgs(string pod) =>
    [
        "--config", Path.Combine(_root, "config.yaml"), "--state-dir", Path.Combine(_root, "state"), "--release-grace", "00:00:00",
        "--fd-holder", HolderSocket(pod),
    ];

    private string HolderSocket(string pod) => Path.Combine(_root, "holders", pod + ".sock");

    private async Task<PluginProcess> StartPluginAsync(string pod)
    {
        var plugin = await PluginProcess.StartAsync(Socket, PluginArgs(pod));
        _processes.Add(plugin);
        return plugin;
    }

    private async Task<PluginProcess> StartHolderAsync(string pod)
    {
        var holder = PluginProcess.Run(["fd-holder", "--socket", HolderSocket(pod), "--log-format", "text"]);
        _processes.Add(holder);
        await WaitForAsync(() => File.Exists(HolderSocket(pod)), $"the fd holder of {pod} listens");
        return holder;
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.That(deadline.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)), $"not within 60 s: {what}");
            await Task.Delay(50);
        }
    }

    private static int FuseMountsAt(string path) =>
        MountTable.Read().Count(e => e.MountPoint == path && e.FileSystemType.StartsWith("fuse", StringComparison.Ordinal));
}
