using Csi.V1;
using Grpc.Core;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace WarpDrive.Csi;

/// <summary>
/// What a volume capability may ask of a WarpDrive volume: mount access (a file system, never a block device)
/// with a known access mode. Every volume is published read-only whatever the mode (see <see cref="Writes"/>).
/// </summary>
public static class VolumeCapabilities
{
    /// <summary>A malformed capability, or block access, is INVALID_ARGUMENT (the spec's code for both).</summary>
    public static void Check(VolumeCapability? capability, string field = "volume_capability")
    {
        if (capability is null)
        {
            throw Invalid($"{field} is required");
        }

        if (capability.AccessMode is null || capability.AccessMode.Mode == Mode.Unknown)
        {
            throw Invalid($"{field}.access_mode is required");
        }

        if (capability.AccessTypeCase != VolumeCapability.AccessTypeOneofCase.Mount)
        {
            throw Invalid("only mount access is supported (WarpDrive volumes are file systems, not block devices)");
        }
    }

    /// <summary>
    /// True for the modes that ask for writes. They are published read-only all the same: kubelet asks for
    /// SINGLE_NODE_WRITER for every inline volume and ReadWriteOnce PV, and a dataset mounted read-only (writes
    /// fail with EROFS) serves a training pod better than a pod stuck in ContainerCreating. ValidateVolumeCapabilities
    /// still confirms only reader modes, so a CO that asks can tell.
    /// </summary>
    public static bool Writes(VolumeCapability capability)
    {
        ArgumentNullException.ThrowIfNull(capability);
        return capability.AccessMode.Mode is not (Mode.SingleNodeReaderOnly or Mode.MultiNodeReaderOnly);
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
