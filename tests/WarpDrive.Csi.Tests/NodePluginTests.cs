using Csi.V1;
using Grpc.Core;
using NUnit.Framework;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace WarpDrive.Csi.Tests;

/// <summary>The CSI Identity and Node services through a real unix socket, with real FUSE and bind mounts (as root).</summary>
[NonParallelizable]
public sealed class NodePluginTests
{
    private PluginFixture? _fixture;

    private PluginFixture _plugin => _fixture!;

    [SetUp]
    public async Task StartPlugin() => _fixture = await PluginFixture.StartAsync();

    [TearDown]
    public async Task StopPlugin()
    {
        if (_fixture is not null)
        {
            await _fixture.DisposeAsync();
        }
    }

    [Test]
    public async Task IdentityReportsNameVersionNoCapabilitiesAndReady()
    {
        var info = await _plugin.Identity.GetPluginInfoAsync(new GetPluginInfoRequest());
        var capabilities = await _plugin.Identity.GetPluginCapabilitiesAsync(new GetPluginCapabilitiesRequest());
        var probe = await _plugin.Identity.ProbeAsync(new ProbeRequest());

        Assert.Multiple(() =>
        {
            Assert.That(info.Name, Is.EqualTo("csi.warpdrive.io"));
            Assert.That(info.VendorVersion, Is.EqualTo("0.1.0"));
            Assert.That(capabilities.Capabilities, Is.Empty);
            Assert.That(probe.Ready, Is.True);
        });
    }

    [Test]
    public async Task NodeReportsVolumeStatsCapabilityAndItsTopology()
    {
        var capabilities = await _plugin.Node.NodeGetCapabilitiesAsync(new NodeGetCapabilitiesRequest());
        var info = await _plugin.Node.NodeGetInfoAsync(new NodeGetInfoRequest());

        Assert.Multiple(() =>
        {
            Assert.That(capabilities.Capabilities.Select(c => c.Rpc.Type), Is.EquivalentTo(new[] { NodeServiceCapability.Types.RPC.Types.Type.GetVolumeStats }));
            Assert.That(info.NodeId, Is.EqualTo("node-1"));
            Assert.That(info.AccessibleTopology.Segments["topology.warpdrive.io/node"], Is.EqualTo("node-1"));
        });
    }

    private static IEnumerable<TestCaseData> BadPublishes()
    {
        TestCaseData Case(string name, Func<string, NodePublishVolumeRequest> make, StatusCode code) => new TestCaseData(make, code).SetName($"Publish {name} is {code}");

        yield return Case("without volume id", t => PluginFixture.Publish("", t, "shared"), StatusCode.InvalidArgument);
        yield return Case("without target path", _ => PluginFixture.Publish("v", "", "shared"), StatusCode.InvalidArgument);
        yield return Case("without capability", t => Without(PluginFixture.Publish("v", t, "shared"), r => r.VolumeCapability = null), StatusCode.InvalidArgument);
        yield return Case("without access mode", t => PluginFixture.Publish("v", t, "shared", mode: Mode.Unknown), StatusCode.InvalidArgument);
        yield return Case("of a block volume", t => Without(PluginFixture.Publish("v", t, "shared"), r => r.VolumeCapability.Block = new VolumeCapability.Types.BlockVolume()), StatusCode.InvalidArgument);
        yield return Case("of an unknown source", t => PluginFixture.Publish("v", t, "no-such-source"), StatusCode.NotFound);
        yield return Case("with a climbing subPath", t => Without(PluginFixture.Publish("v", t, "shared"), r => r.VolumeContext["subPath"] = "../etc"), StatusCode.InvalidArgument);
        yield return Case("with a missing subPath", t => Without(PluginFixture.Publish("v", t, "shared"), r => r.VolumeContext["subPath"] = "nope"), StatusCode.NotFound);
        yield return Case("with a bad readahead", t => Without(PluginFixture.Publish("v", t, "shared"), r => r.VolumeContext["readahead"] = "lots"), StatusCode.InvalidArgument);
    }

    [TestCaseSource(nameof(BadPublishes))]
    public void BadPublishesGetTheSpecsCode(Func<string, NodePublishVolumeRequest> make, StatusCode code)
    {
        var error = Assert.ThrowsAsync<RpcException>(async () => await _plugin.Node.NodePublishVolumeAsync(make(_plugin.Target("p"))))!;

        TestContext.Out.WriteLine(error.Status.Detail);
        Assert.That(error.StatusCode, Is.EqualTo(code), error.Status.Detail);
        Assert.That(Csi.MountTable.IsMountPoint(_plugin.Target("p")), Is.False);
    }

    [TestCase(Mode.SingleNodeWriter, false)]
    [TestCase(Mode.SingleNodeWriter, true)]
    [TestCase(Mode.MultiNodeMultiWriter, false)]
    public async Task WriterModesArePublishedReadOnly(Mode mode, bool readOnly)
    {
        var target = _plugin.Target("p");

        await _plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("v", target, "shared", readOnly: readOnly, mode: mode));

        Assert.That(File.ReadAllText(Path.Combine(target, "readme.txt")), Is.EqualTo("shared data\n"));
        var write = Assert.Catch<Exception>(() => File.WriteAllText(Path.Combine(target, "new.txt"), "x"))!;
        Assert.That(write, Is.InstanceOf<IOException>().Or.InstanceOf<UnauthorizedAccessException>(), "EROFS whatever the mode asked");
        Assert.That(File.Exists(Path.Combine(_plugin.Root, "shared", "new.txt")), Is.False);
    }

    [Test]
    public void UnpublishAndStatsCheckTheirArguments()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Code(() => _plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { TargetPath = "/x" }).ResponseAsync), Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(Code(() => _plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "v" }).ResponseAsync), Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(Code(() => _plugin.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumePath = "/x" }).ResponseAsync), Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(Code(() => _plugin.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "v" }).ResponseAsync), Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(Code(() => _plugin.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "v", VolumePath = _plugin.Target("none") }).ResponseAsync), Is.EqualTo(StatusCode.NotFound));
        });
    }

    [Test]
    public async Task TwoPodsOfOneSourceShareOneFuseMountAndReadTheSourceBytes()
    {
        var first = _plugin.Target("pod-1");
        var second = _plugin.Target("pod-2");

        await _plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("team-a/team-a-data", first, "team-a-data", podNamespace: "team-a"));
        await _plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("team-a/team-a-data", second, "team-a-data", podNamespace: "team-a"));

        var source = Path.Combine(_plugin.Root, "data-a");
        Assert.Multiple(() =>
        {
            Assert.That(_plugin.FuseMountsOf("team-a-data"), Is.EqualTo(1));
            Assert.That(Csi.MountTable.IsMountPoint(first) && Csi.MountTable.IsMountPoint(second), Is.True);
            foreach (var target in new[] { first, second })
            {
                Assert.That(File.ReadAllBytes(Path.Combine(target, "hello.txt")), Is.EqualTo(File.ReadAllBytes(Path.Combine(source, "hello.txt"))));
                Assert.That(File.ReadAllBytes(Path.Combine(target, "sub/deep.bin")), Is.EqualTo(File.ReadAllBytes(Path.Combine(source, "sub/deep.bin"))));
            }
        });

        var write = Assert.Catch<Exception>(() => File.WriteAllText(Path.Combine(first, "new.txt"), "x"))!;
        Assert.That(write, Is.InstanceOf<IOException>().Or.InstanceOf<UnauthorizedAccessException>());

        await _plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "team-a/team-a-data", TargetPath = first });
        Assert.That(_plugin.FuseMountsOf("team-a-data"), Is.EqualTo(1), "the second pod still uses the source");
        Assert.That(File.ReadAllText(Path.Combine(second, "hello.txt")), Is.EqualTo("hello from team a\n"));

        await _plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "team-a/team-a-data", TargetPath = second });
        Assert.Multiple(() =>
        {
            Assert.That(_plugin.FuseMountsOf("team-a-data"), Is.EqualTo(0), "released after the last unpublish (grace 0)");
            Assert.That(Csi.MountTable.IsMountPoint(first) || Csi.MountTable.IsMountPoint(second), Is.False);
        });
    }

    [Test]
    public async Task SubPathPublishesOneDirectory()
    {
        var request = PluginFixture.Publish("team-a/team-a-data", _plugin.Target("p"), "team-a-data", podNamespace: "team-a");
        request.VolumeContext["subPath"] = "sub";

        await _plugin.Node.NodePublishVolumeAsync(request);

        Assert.That(Directory.GetFileSystemEntries(_plugin.Target("p")).Select(Path.GetFileName), Is.EquivalentTo(new[] { "deep.bin" }));
    }

    [Test]
    public async Task PublishIsIdempotentAndATargetHoldsOneVolume()
    {
        var target = _plugin.Target("p");
        await _plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("vol-1", target, "shared"));

        Assert.DoesNotThrowAsync(async () => await _plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("vol-1", target, "shared")));
        var error = Assert.ThrowsAsync<RpcException>(async () => await _plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("vol-2", target, "shared")))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.AlreadyExists));
        Assert.That(MountTableCount(target), Is.EqualTo(1), "the repeat did not stack a second bind mount");
    }

    [Test]
    public async Task UnpublishIsIdempotentAndUnknownTargetsSucceed()
    {
        var target = _plugin.Target("p");
        Assert.DoesNotThrowAsync(async () => await _plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "never", TargetPath = _plugin.Target("never") }));

        await _plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("vol-1", target, "shared"));
        await _plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "vol-1", TargetPath = target });
        Assert.DoesNotThrowAsync(async () => await _plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = "vol-1", TargetPath = target }));
        Assert.That(Csi.MountTable.IsMountPoint(target), Is.False);
    }

    [Test]
    public async Task StatsOfAPublishedVolumeReportBytesAndInodes()
    {
        var target = _plugin.Target("p");
        await _plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("vol-1", target, "shared"));

        var stats = await _plugin.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol-1", VolumePath = target });
        var otherVolume = Code(() => _plugin.Node.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol-2", VolumePath = target }).ResponseAsync);

        Assert.Multiple(() =>
        {
            Assert.That(stats.Usage.Select(u => u.Unit), Is.EquivalentTo(new[] { VolumeUsage.Types.Unit.Bytes, VolumeUsage.Types.Unit.Inodes }));
            Assert.That(stats.Usage.All(u => u.Total >= 0 && u.Available >= 0 && u.Used >= 0), Is.True);
            Assert.That(otherVolume, Is.EqualTo(StatusCode.NotFound));
        });
    }

    [TestCase("team-a", null)]
    [TestCase("team-b", null)]
    [TestCase("team-c", "namespace \"team-c\" may not mount data source \"team-a-data\"")]
    public async Task PodsMountOnlyTheirNamespacesSources(string podNamespace, string? denial)
    {
        var request = PluginFixture.Publish("team-a/team-a-data", _plugin.Target("p"), "team-a-data", podNamespace: podNamespace);
        if (denial is null)
        {
            await _plugin.Node.NodePublishVolumeAsync(request);
            Assert.That(File.Exists(Path.Combine(_plugin.Target("p"), "hello.txt")), Is.True);
            return;
        }

        var error = Assert.ThrowsAsync<RpcException>(async () => await _plugin.Node.NodePublishVolumeAsync(request))!;
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.That(error.Status.Detail, Does.Contain(denial));
    }

    [Test]
    public void AnUntenantedSourceIsDeniedToANamespacedPod()
    {
        var error = Assert.ThrowsAsync<RpcException>(async () =>
            await _plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("shared", _plugin.Target("p"), "shared", podNamespace: "team-a")))!;

        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.That(error.Status.Detail, Does.Contain("belongs to no namespace"));
    }

    [Test]
    public async Task AnEphemeralInlineVolumeIsPublished()
    {
        var request = PluginFixture.Publish("csi-4f1e9a", _plugin.Target("p"), "team-a-data", podNamespace: "team-a");
        request.VolumeContext["csi.storage.k8s.io/ephemeral"] = "true";

        await _plugin.Node.NodePublishVolumeAsync(request);

        Assert.That(File.ReadAllText(Path.Combine(_plugin.Target("p"), "hello.txt")), Is.EqualTo("hello from team a\n"));
    }

    [Test]
    public async Task AStaticVolumeHandleNamesTheSourceWhenNoAttributeDoes()
    {
        await _plugin.Node.NodePublishVolumeAsync(PluginFixture.Publish("default/shared", _plugin.Target("p"), source: null));

        Assert.That(File.ReadAllText(Path.Combine(_plugin.Target("p"), "readme.txt")), Is.EqualTo("shared data\n"));
    }

    private static StatusCode Code(Func<Task> call)
    {
        var error = Assert.CatchAsync<RpcException>(async () => await call())!;
        return error.StatusCode;
    }

    private static NodePublishVolumeRequest Without(NodePublishVolumeRequest request, Action<NodePublishVolumeRequest> change)
    {
        change(request);
        return request;
    }

    private static int MountTableCount(string path) => Csi.MountTable.Read().Count(e => e.MountPoint == path);
}
