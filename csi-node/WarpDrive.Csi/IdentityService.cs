using Csi.V1;
using Grpc.Core;

namespace WarpDrive.Csi;

/// <summary>
/// The CSI Identity service. A node-only plugin reports no plugin capabilities (no controller service, no
/// topology constraints on volumes); Probe is ready once the node's cache and FUSE layer are up.
/// </summary>
public sealed class IdentityService(IReadiness readiness) : Identity.IdentityBase
{
    public static string Version { get; } =
        typeof(IdentityService).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public override Task<GetPluginInfoResponse> GetPluginInfo(GetPluginInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new GetPluginInfoResponse { Name = CsiDriver.Name, VendorVersion = Version });

    public override Task<GetPluginCapabilitiesResponse> GetPluginCapabilities(GetPluginCapabilitiesRequest request, ServerCallContext context) =>
        Task.FromResult(new GetPluginCapabilitiesResponse());

    public override Task<ProbeResponse> Probe(ProbeRequest request, ServerCallContext context) =>
        Task.FromResult(new ProbeResponse { Ready = readiness.IsReady });
}

/// <summary>Whether the node's data plane (cache, FUSE) is up; supplied by the host.</summary>
public interface IReadiness
{
    bool IsReady { get; }
}
