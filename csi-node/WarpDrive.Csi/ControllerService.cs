using Csi.V1;
using Grpc.Core;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace WarpDrive.Csi;

/// <summary>
/// The CSI Controller service of a node-only plugin. WarpDrive volumes are data sources that already exist, so
/// nothing is ever provisioned: the plugin does not report the CONTROLLER_SERVICE plugin capability, Kubernetes
/// runs no controller sidecar for it, and the only controller capability is GET_CAPACITY (0 bytes to provision:
/// the truth, and it gives a capability list that is not empty, which conformance tools expect).
/// </summary>
/// <remarks>
/// Tools that get their test volumes from CreateVolume (csi-sanity) are answered too: CreateVolume turns
/// parameters naming a source into that source's volume, with the same handle a static PV would carry
/// (<c>[&lt;namespace&gt;/]&lt;source&gt;</c>), and creates nothing; DeleteVolume deletes nothing. Neither is
/// advertised, so no provisioner ever calls them.
/// </remarks>
public sealed class ControllerService(SourceMounts sources) : Controller.ControllerBase
{
    /// <summary>The CreateVolume parameters that describe a volume; a source's volume is the source, whole.</summary>
    private static readonly string[] VolumeParameters = [CsiDriver.SourceAttribute, CsiDriver.SourceNamespaceAttribute];

    /// <summary>Keys Kubernetes' external-provisioner may add (--extra-create-metadata); not ours to judge.</summary>
    private const string KubernetesPrefix = "csi.storage.k8s.io/";

    public override Task<ControllerGetCapabilitiesResponse> ControllerGetCapabilities(ControllerGetCapabilitiesRequest request, ServerCallContext context) =>
        Task.FromResult(new ControllerGetCapabilitiesResponse
        {
            Capabilities =
            {
                new ControllerServiceCapability { Rpc = new ControllerServiceCapability.Types.RPC { Type = ControllerServiceCapability.Types.RPC.Types.Type.GetCapacity } },
            },
        });

    /// <summary>Nothing can be provisioned: a data source is configured on the node, never created through CSI.</summary>
    public override Task<GetCapacityResponse> GetCapacity(GetCapacityRequest request, ServerCallContext context) =>
        Task.FromResult(new GetCapacityResponse { AvailableCapacity = 0 });

    public override Task<CreateVolumeResponse> CreateVolume(CreateVolumeRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.Name))
        {
            throw Invalid("name is required");
        }

        if (request.VolumeCapabilities.Count == 0)
        {
            throw Invalid("volume_capabilities is required");
        }

        for (var i = 0; i < request.VolumeCapabilities.Count; i++)
        {
            VolumeCapabilities.Check(request.VolumeCapabilities[i], $"volume_capabilities[{i}]");
        }

        if (request.VolumeContentSource is not null)
        {
            throw Invalid("volume_content_source is not supported: a WarpDrive volume is an existing data source, never a copy of a snapshot or volume");
        }

        foreach (var key in request.Parameters.Keys)
        {
            if (!VolumeParameters.Contains(key, StringComparer.Ordinal) && !key.StartsWith(KubernetesPrefix, StringComparison.Ordinal))
            {
                throw Invalid($"parameters.{key} is not a known parameter (allowed: {string.Join(", ", VolumeParameters)})");
            }
        }

        if (!request.Parameters.TryGetValue(CsiDriver.SourceAttribute, out var source) || source.Length == 0)
        {
            throw Invalid($"parameters.{CsiDriver.SourceAttribute} is required (the data source the volume shows)");
        }

        request.Parameters.TryGetValue(CsiDriver.SourceNamespaceAttribute, out var ns);
        if (new VolumeHandle(source, ns).FindSource(sources.Find) is null)
        {
            throw Invalid($"parameters.{CsiDriver.SourceAttribute}: data source \"{source}\"" + (string.IsNullOrEmpty(ns) ? "" : $" of namespace \"{ns}\"") + " is not in this node's config");
        }

        var volume = new Volume { VolumeId = VolumeHandle.IdOf(source, ns), CapacityBytes = 0 }; // 0: unknown (the spec's word for e.g. an NFS share)
        volume.VolumeContext[CsiDriver.SourceAttribute] = source;
        if (!string.IsNullOrEmpty(ns))
        {
            volume.VolumeContext[CsiDriver.SourceNamespaceAttribute] = ns;
        }

        return Task.FromResult(new CreateVolumeResponse { Volume = volume });
    }

    /// <summary>Deletes nothing: the data belongs to the source, which outlives every volume that shows it.</summary>
    public override Task<DeleteVolumeResponse> DeleteVolume(DeleteVolumeRequest request, ServerCallContext context) =>
        string.IsNullOrEmpty(request.VolumeId) ? throw Invalid("volume_id is required") : Task.FromResult(new DeleteVolumeResponse());

    /// <summary>
    /// Confirms reader modes on mount access. A writer mode is not confirmed (the message says why) even though
    /// NodePublishVolume serves it read-only: the CO asked whether writes work, and they do not.
    /// </summary>
    public override Task<ValidateVolumeCapabilitiesResponse> ValidateVolumeCapabilities(ValidateVolumeCapabilitiesRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.VolumeId))
        {
            throw Invalid("volume_id is required");
        }

        if (request.VolumeCapabilities.Count == 0)
        {
            throw Invalid("volume_capabilities is required");
        }

        var handle = VolumeHandle.Of(request.VolumeId, request.VolumeContext, ephemeral: false, podNamespace: null);
        if (handle?.FindSource(sources.Find) is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"volume {request.VolumeId} names no data source in this node's config"));
        }

        foreach (var capability in request.VolumeCapabilities)
        {
            if (capability?.AccessMode is null || capability.AccessMode.Mode == Mode.Unknown)
            {
                throw Invalid("volume_capabilities[].access_mode is required");
            }

            if (capability.AccessTypeCase != VolumeCapability.AccessTypeOneofCase.Mount)
            {
                return Unconfirmed("only mount access is supported (WarpDrive volumes are file systems, not block devices)");
            }

            if (VolumeCapabilities.Writes(capability))
            {
                return Unconfirmed($"access mode {capability.AccessMode.Mode} asks for writes; WarpDrive volumes are read-only (they are published read-only)");
            }
        }

        var confirmed = new ValidateVolumeCapabilitiesResponse.Types.Confirmed();
        confirmed.VolumeCapabilities.Add(request.VolumeCapabilities);
        confirmed.VolumeContext.Add(request.VolumeContext);
        confirmed.Parameters.Add(request.Parameters);
        return Task.FromResult(new ValidateVolumeCapabilitiesResponse { Confirmed = confirmed });
    }

    private static Task<ValidateVolumeCapabilitiesResponse> Unconfirmed(string message) =>
        Task.FromResult(new ValidateVolumeCapabilitiesResponse { Message = message });

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
