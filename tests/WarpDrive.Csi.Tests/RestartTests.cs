using Csi.V1;
using Grpc.Core;
using NUnit.Framework;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// The plugin crashes (SIGKILL) with volumes published and is started again: it re-learns its publications from
/// its state dir and the mount table, serves the targets again, and unpublishes them with the right reference
/// counts. Real processes, real FUSE and bind mounts.
/// </summary>
[NonParallelizable]
public sealed class RestartTests
{
    private string _root = null!;

    [SetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("warpdrive-csi-restart-").FullName;

    [TearDown]
    public void RemoveRoot()
    {
        ProcessTestFiles.DetachEverythingBelow(_root);
        Directory.Delete(_root, recursive: true);
    }

    [TestCase(PluginProcess.SIGKILL, TestName = "Volumes published before a crash (SIGKILL) are served again and unpublish cleanly")]
    [TestCase(PluginProcess.SIGTERM, TestName = "Volumes published before a clean stop (SIGTERM, a DaemonSet update) are served again and unpublish cleanly")]
    public async Task VolumesPublishedBeforeTheStopAreServedAgainAndUnpublishCleanly(int signal)
    {
        var socket = Path.Combine(_root, "csi.sock");
        var args = ProcessTestFiles.ConfigArgs(_root);
        var whole = Path.Combine(_root, "pods", "p1", "volumes", "data");
        var sub = Path.Combine(_root, "pods", "p2", "volumes", "data");
        var sourceMount = Path.Combine(_root, "state", "mounts", "data");

        using (var first = await PluginProcess.StartAsync(socket, args))
        {
            await first.Node.NodePublishVolumeAsync(PluginFixture.Publish("data", whole, "data"));
            var subRequest = PluginFixture.Publish("data-b", sub, "data");
            subRequest.VolumeContext["subPath"] = "b";
            await first.Node.NodePublishVolumeAsync(subRequest);
            Assert.That(await File.ReadAllTextAsync(Path.Combine(whole, "a.txt")), Is.EqualTo("from the process\n"));

            Assert.That(first.Stop(signal), Is.True);
        }

        // What the stop leaves: kubelet's targets are still mounted, and dead (their FUSE server is gone).
        Assert.Multiple(() =>
        {
            Assert.That(MountTable.IsMountPoint(whole) && MountTable.IsMountPoint(sub), Is.True);
            Assert.That(() => File.ReadAllText(Path.Combine(whole, "a.txt")), Throws.InstanceOf<IOException>());
        });

        using var second = await PluginProcess.StartAsync(socket, args);
        Assert.Multiple(() =>
        {
            Assert.That(File.ReadAllText(Path.Combine(whole, "a.txt")), Is.EqualTo("from the process\n"), "the target is bound again to a live tree");
            Assert.That(File.ReadAllText(Path.Combine(sub, "b.txt")), Is.EqualTo("in b\n"), "with its subPath");
            Assert.That(FuseMountsAt(sourceMount), Is.EqualTo(1), "one live source mount, the dead one detached");
        });

        // The re-learned publication knows its volume: another volume id at that target is refused.
        var wrongVolume = Assert.ThrowsAsync<RpcException>(async () => await second.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "other", TargetPath = whole }))!;
        Assert.That(wrongVolume.StatusCode, Is.EqualTo(StatusCode.NotFound));

        await second.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "data", TargetPath = whole });
        Assert.Multiple(() =>
        {
            Assert.That(MountTable.IsMountPoint(whole), Is.False);
            Assert.That(Directory.Exists(whole), Is.False, "the target directory is removed");
            Assert.That(FuseMountsAt(sourceMount), Is.EqualTo(1), "the other publication still holds the source");
            Assert.That(File.ReadAllText(Path.Combine(sub, "b.txt")), Is.EqualTo("in b\n"));
        });

        await second.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "data-b", TargetPath = sub });
        Assert.Multiple(() =>
        {
            Assert.That(ProcessTestFiles.MountsBelow(_root), Is.Empty, "the last unpublish released the source (grace 0): nothing left mounted");
            Assert.That(Directory.EnumerateFiles(Path.Combine(_root, "state", "publications")), Is.Empty, "no publication records left");
        });

        Assert.That(second.Stop(PluginProcess.SIGTERM), Is.True);
        TestContext.Out.WriteLine(second.Stderr);
        Assert.That(second.ExitCode, Is.Zero);
    }

    [Test]
    public async Task ARecordWhoseTargetKubeletAlreadyUnmountedIsForgotten()
    {
        var socket = Path.Combine(_root, "csi.sock");
        var args = ProcessTestFiles.ConfigArgs(_root);
        var target = Path.Combine(_root, "pods", "p1", "volumes", "data");

        using (var first = await PluginProcess.StartAsync(socket, args))
        {
            await first.Node.NodePublishVolumeAsync(PluginFixture.Publish("data", target, "data"));
            Assert.That(first.Stop(PluginProcess.SIGKILL), Is.True);
        }

        ProcessTestFiles.DetachEverythingBelow(_root); // kubelet tore the pod down while the plugin was away

        using var second = await PluginProcess.StartAsync(socket, args);
        Assert.Multiple(() =>
        {
            Assert.That(ProcessTestFiles.MountsBelow(_root), Is.Empty, "nothing mounted again for a pod that is gone");
            Assert.That(Directory.EnumerateFiles(Path.Combine(_root, "state", "publications")), Is.Empty);
        });
        Assert.That(second.Stop(PluginProcess.SIGTERM), Is.True);
    }

    [Test]
    public async Task APublicationWhoseSourceLeftTheConfigMeanwhileIsDetachedAndStillUnpublishes()
    {
        var socket = Path.Combine(_root, "csi.sock");
        var args = ProcessTestFiles.ConfigArgs(_root);
        var target = Path.Combine(_root, "pods", "p1", "volumes", "data");

        using (var first = await PluginProcess.StartAsync(socket, args))
        {
            await first.Node.NodePublishVolumeAsync(PluginFixture.Publish("data", target, "data"));
            Assert.That(first.Stop(PluginProcess.SIGKILL), Is.True);
        }

        var config = Path.Combine(_root, "config.yaml");
        await File.WriteAllTextAsync(config, (await File.ReadAllTextAsync(config)).Replace("name: data", "name: renamed", StringComparison.Ordinal));

        using var second = await PluginProcess.StartAsync(socket, args);
        Assert.Multiple(() =>
        {
            Assert.That(ProcessTestFiles.MountsBelow(_root), Is.Empty, "the dead target is detached, nothing is mounted for it");
            Assert.That(second.Stderr, Does.Contain("data source \"data\" is no longer in the node config"));
        });
        Assert.DoesNotThrowAsync(async () => await second.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "data", TargetPath = target }));
        Assert.That(Directory.Exists(target), Is.False);
        Assert.That(second.Stop(PluginProcess.SIGTERM), Is.True);
    }

    private static int FuseMountsAt(string path) =>
        MountTable.Read().Count(e => e.MountPoint == path && e.FileSystemType.StartsWith("fuse", StringComparison.Ordinal));
}
