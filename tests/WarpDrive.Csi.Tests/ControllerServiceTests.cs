using Csi.V1;
using Grpc.Core;
using NUnit.Framework;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;
using RpcType = Csi.V1.ControllerServiceCapability.Types.RPC.Types.Type;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// The Controller service of the node-only plugin, through the real unix socket: what conformance tools (csi-sanity)
/// ask of it, and that a volume it hands out publishes the real source.
/// </summary>
[NonParallelizable]
public sealed class ControllerServiceTests
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
    public async Task OnlyGetCapacityIsOfferedAndThereIsNothingToProvision()
    {
        var capabilities = await _plugin.Controller.ControllerGetCapabilitiesAsync(new ControllerGetCapabilitiesRequest());
        var capacity = await _plugin.Controller.GetCapacityAsync(new GetCapacityRequest());

        Assert.Multiple(() =>
        {
            Assert.That(capabilities.Capabilities.Select(c => c.Rpc.Type), Is.EqualTo(new[] { RpcType.GetCapacity }));
            Assert.That(capacity.AvailableCapacity, Is.Zero);
        });
    }

    [Test]
    public async Task CreateVolumeNamesAnExistingSourceThatPublishesItsBytesAndDeleteKeepsThem()
    {
        var created = await _plugin.Controller.CreateVolumeAsync(Create("sanity-1", ("source", "shared")));
        var target = _plugin.Target("p");

        // What csi-sanity does next: publish the returned volume as a single node writer.
        await _plugin.Node.NodePublishVolumeAsync(new NodePublishVolumeRequest
        {
            VolumeId = created.Volume.VolumeId,
            TargetPath = target,
            VolumeCapability = Capability(Mode.SingleNodeWriter),
            VolumeContext = { created.Volume.VolumeContext },
        });
        var read = await File.ReadAllTextAsync(Path.Combine(target, "readme.txt"));
        await _plugin.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = created.Volume.VolumeId, TargetPath = target });
        await _plugin.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = created.Volume.VolumeId });

        Assert.Multiple(() =>
        {
            Assert.That(created.Volume.VolumeId, Is.EqualTo("shared"), "the handle a static PV of the source carries");
            Assert.That(created.Volume.VolumeContext, Is.EquivalentTo(new Dictionary<string, string> { ["source"] = "shared" }));
            Assert.That(read, Is.EqualTo("shared data\n"));
            Assert.That(File.ReadAllText(Path.Combine(_plugin.Root, "shared", "readme.txt")), Is.EqualTo("shared data\n"), "DeleteVolume deletes no data");
        });
    }

    [Test]
    public async Task CreateVolumeOfANamespacedSourceGetsTheStaticHandle()
    {
        var created = await _plugin.Controller.CreateVolumeAsync(Create("v", ("source", "team-a-data"), ("namespace", "team-a")));

        Assert.That(created.Volume.VolumeId, Is.EqualTo("team-a/team-a-data"));
    }

    private static IEnumerable<TestCaseData> BadCreates()
    {
        TestCaseData Case(string name, Func<CreateVolumeRequest> make) => new TestCaseData(make).SetName($"CreateVolume {name} is InvalidArgument");

        yield return Case("without name", () => Create("", ("source", "shared")));
        yield return Case("without capabilities", () => Without(Create("v", ("source", "shared")), r => r.VolumeCapabilities.Clear()));
        yield return Case("of a block volume", () => Without(Create("v", ("source", "shared")), r => r.VolumeCapabilities[0].Block = new VolumeCapability.Types.BlockVolume()));
        yield return Case("without source", () => Create("v"));
        yield return Case("of an unknown source", () => Create("v", ("source", "no-such-source")));
        yield return Case("with an unknown parameter", () => Create("v", ("source", "shared"), ("sourcePath", "x")));
        yield return Case("from a snapshot", () => Without(Create("v", ("source", "shared")), r => r.VolumeContentSource = new VolumeContentSource { Snapshot = new VolumeContentSource.Types.SnapshotSource { SnapshotId = "s" } }));
    }

    [TestCaseSource(nameof(BadCreates))]
    public void BadCreatesAreInvalidArgument(Func<CreateVolumeRequest> make)
    {
        var error = Assert.ThrowsAsync<RpcException>(async () => await _plugin.Controller.CreateVolumeAsync(make()))!;

        TestContext.Out.WriteLine(error.Status.Detail);
        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.InvalidArgument), error.Status.Detail);
    }

    [Test]
    public async Task ValidateConfirmsReaderModesOnlyAndKnowsWhichVolumesExist()
    {
        var reader = await _plugin.Controller.ValidateVolumeCapabilitiesAsync(Validate("team-a/team-a-data", Mode.MultiNodeReaderOnly));
        var writer = await _plugin.Controller.ValidateVolumeCapabilitiesAsync(Validate("shared", Mode.SingleNodeWriter));
        var unknown = Assert.ThrowsAsync<RpcException>(async () => await _plugin.Controller.ValidateVolumeCapabilitiesAsync(Validate("no-such-source", Mode.MultiNodeReaderOnly)))!;
        var noId = Assert.ThrowsAsync<RpcException>(async () => await _plugin.Controller.ValidateVolumeCapabilitiesAsync(Validate("", Mode.MultiNodeReaderOnly)))!;
        var noDelete = Assert.ThrowsAsync<RpcException>(async () => await _plugin.Controller.DeleteVolumeAsync(new DeleteVolumeRequest()))!;

        Assert.Multiple(() =>
        {
            Assert.That(reader.Confirmed?.VolumeCapabilities.Single().AccessMode.Mode, Is.EqualTo(Mode.MultiNodeReaderOnly), "by its static handle");
            Assert.That(writer.Confirmed, Is.Null);
            Assert.That(writer.Message, Does.Contain("read-only"));
            Assert.That(unknown.StatusCode, Is.EqualTo(StatusCode.NotFound));
            Assert.That(noId.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(noDelete.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        });
    }

    private static CreateVolumeRequest Create(string name, params (string Key, string Value)[] parameters)
    {
        var request = new CreateVolumeRequest { Name = name, VolumeCapabilities = { Capability(Mode.SingleNodeWriter) } };
        foreach (var (key, value) in parameters)
        {
            request.Parameters[key] = value;
        }

        return request;
    }

    private static ValidateVolumeCapabilitiesRequest Validate(string volumeId, Mode mode) =>
        new() { VolumeId = volumeId, VolumeCapabilities = { Capability(mode) } };

    private static VolumeCapability Capability(Mode mode) => new()
    {
        Mount = new VolumeCapability.Types.MountVolume(),
        AccessMode = new VolumeCapability.Types.AccessMode { Mode = mode },
    };

    private static CreateVolumeRequest Without(CreateVolumeRequest request, Action<CreateVolumeRequest> change)
    {
        change(request);
        return request;
    }
}
