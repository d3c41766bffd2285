using Csi.V1;
using Grpc.Core;
using NUnit.Framework;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// Volumes as Kubernetes asks for them, over a node config as the operator renders it: each WarpDataSource is a
/// backend named <c>&lt;namespace&gt;-&lt;name&gt;</c> owned by its namespace, while PVs, inline volumes and warm jobs
/// name the source by its own name.
/// </summary>
[NonParallelizable]
public sealed class OperatorNamedSourcesTests
{
    private const string RenderedBackends = """
          - name: vision-imagenet
            type: local
            config: { root: {root}/shared }
            namespace: vision
            allowed_namespaces: [vision, research]
          - name: a-b-c
            type: local
            config: { root: {root}/shared }
            namespace: a-b
        """;

    private PluginFixture? _fixture;

    private PluginFixture Plugin => _fixture!;

    [SetUp]
    public async Task StartPlugin() => _fixture = await PluginFixture.StartAsync(backends: RenderedBackends);

    [TearDown]
    public async Task StopPlugin()
    {
        if (_fixture is not null)
        {
            await _fixture.DisposeAsync();
        }
    }

    [Test]
    public async Task AStaticPvOfTheOperatorFindsItsNamespacedBackend()
    {
        var request = PluginFixture.Publish("vision/imagenet", Plugin.Target("pv"), "imagenet", podNamespace: "vision");
        request.VolumeContext[CsiDriver.SourceNamespaceAttribute] = "vision";

        await Plugin.Node.NodePublishVolumeAsync(request);

        Assert.That(File.ReadAllText(Path.Combine(Plugin.Target("pv"), "readme.txt")), Is.EqualTo("shared data\n"));
        Assert.That(Plugin.FuseMountsOf("vision-imagenet"), Is.EqualTo(1), "the source is mounted under its backend's name");
    }

    [Test]
    public async Task AnInlineVolumeNamesASourceOfThePodsNamespaceOrOfAnotherThatAllowsIt()
    {
        var own = PluginFixture.Publish("csi-inline-1", Plugin.Target("own"), "imagenet", podNamespace: "vision");
        own.VolumeContext[CsiDriver.EphemeralAttribute] = "true";
        var allowed = PluginFixture.Publish("csi-inline-2", Plugin.Target("allowed"), "imagenet", podNamespace: "research");
        allowed.VolumeContext[CsiDriver.EphemeralAttribute] = "true";
        allowed.VolumeContext[CsiDriver.SourceNamespaceAttribute] = "vision";
        var foreign = PluginFixture.Publish("csi-inline-3", Plugin.Target("foreign"), "imagenet", podNamespace: "sales");
        foreign.VolumeContext[CsiDriver.EphemeralAttribute] = "true";
        foreign.VolumeContext[CsiDriver.SourceNamespaceAttribute] = "vision";

        await Plugin.Node.NodePublishVolumeAsync(own);
        await Plugin.Node.NodePublishVolumeAsync(allowed);
        var refused = Assert.ThrowsAsync<RpcException>(async () => await Plugin.Node.NodePublishVolumeAsync(foreign));

        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(Path.Combine(Plugin.Target("own"), "readme.txt")), Is.True);
            Assert.That(File.Exists(Path.Combine(Plugin.Target("allowed"), "readme.txt")), Is.True);
            Assert.That(refused!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        });
    }

    [Test]
    public void AJoinedNameOfAnotherNamespaceIsNotTakenForTheRequestedSource()
    {
        // Namespace "a" asking for its source "b-c" must not get namespace "a-b"'s source "c", though both join to a-b-c.
        var request = PluginFixture.Publish("csi-inline-4", Plugin.Target("x"), "b-c", podNamespace: "a");
        request.VolumeContext[CsiDriver.EphemeralAttribute] = "true";

        var error = Assert.ThrowsAsync<RpcException>(async () => await Plugin.Node.NodePublishVolumeAsync(request));

        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.NotFound));
        Assert.That(error.Status.Detail, Does.Contain("\"b-c\" of namespace \"a\""));
    }
}
