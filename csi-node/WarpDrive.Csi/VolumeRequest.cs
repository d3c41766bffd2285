using Csi.V1;
using Grpc.Core;
using WarpDrive.Config;

namespace WarpDrive.Csi;

/// <summary>A NodePublishVolume request, validated: what to mount, for whom, where. Bad input is an RpcException.</summary>
public sealed record VolumeRequest(string VolumeId, string Source, string SubPath, long? ReadaheadBytes, bool Ephemeral, string? PodNamespace, string TargetPath)
{
    /// <summary>The pod the volume is published for, when kubelet said (podInfoOnMount): for access telemetry.</summary>
    public PodInfo? Pod { get; init; }

    /// <summary>
    /// The namespace the source belongs to, when the request says: volume_context <c>namespace</c>, else the
    /// <c>&lt;namespace&gt;/</c> of a static PV's handle, else (inline volumes) the pod's own namespace.
    /// </summary>
    public string? SourceNamespace { get; init; }

    /// <summary>
    /// The node config backend this request means: the source's name as given (standalone configs and tools name
    /// backends freely), else the operator's <c>&lt;namespace&gt;-&lt;name&gt;</c> for the source's namespace, taken only
    /// when that backend really belongs to that namespace (the joined name alone could be another namespace's).
    /// </summary>
    public BackendConfig? FindSource(Func<string, BackendConfig?> find)
    {
        ArgumentNullException.ThrowIfNull(find);
        return find(Source)
            ?? (SourceNamespace is { Length: > 0 } ns && find(CsiDriver.BackendNameOf(ns, Source)) is { } owned && owned.Namespace == ns ? owned : null);
    }

    public static VolumeRequest Parse(NodePublishVolumeRequest request)
    {
        if (string.IsNullOrEmpty(request.VolumeId))
        {
            throw Invalid("volume_id is required");
        }

        if (string.IsNullOrEmpty(request.TargetPath))
        {
            throw Invalid("target_path is required");
        }

        if (!request.TargetPath.StartsWith('/'))
        {
            throw Invalid($"target_path \"{request.TargetPath}\" is not absolute");
        }

        CheckCapability(request.VolumeCapability, request.Readonly);

        var context = request.VolumeContext;
        var ephemeral = context.TryGetValue(CsiDriver.EphemeralAttribute, out var e) && e == "true";
        var source = context.TryGetValue(CsiDriver.SourceAttribute, out var s) && s.Length > 0 ? s : null;
        // A static PV's volumeHandle is "<namespace>/<source>"; the attributes, when set, win.
        var slash = ephemeral ? -1 : request.VolumeId.LastIndexOf('/');
        if (source is null && !ephemeral)
        {
            source = request.VolumeId[(slash + 1)..];
        }

        if (string.IsNullOrEmpty(source))
        {
            throw Invalid($"volume_context.{CsiDriver.SourceAttribute} is required (the data source to mount)");
        }

        var subPath = context.TryGetValue(CsiDriver.SubPathAttribute, out var p) ? CheckSubPath(p) : "";
        long? readahead = null;
        if (context.TryGetValue(CsiDriver.ReadaheadAttribute, out var r) && r.Length > 0)
        {
            if (!ByteSize.TryParse(r, out var bytes) || bytes < 0 || bytes > 1024 * ByteSize.MiB)
            {
                throw Invalid($"volume_context.{CsiDriver.ReadaheadAttribute} \"{r}\" is not a size from 0 to 1GiB (e.g. 8MiB)");
            }

            readahead = bytes;
        }

        context.TryGetValue(CsiDriver.PodNamespaceAttribute, out var podNamespace);
        var sourceNamespace = context.TryGetValue(CsiDriver.SourceNamespaceAttribute, out var n) && n.Length > 0 ? n
            : slash > 0 ? request.VolumeId[..slash]
            : podNamespace;
        return new VolumeRequest(request.VolumeId, source, subPath, readahead, ephemeral, podNamespace, Path.TrimEndingDirectorySeparator(request.TargetPath))
        {
            Pod = PodInfoOf(context, podNamespace),
            SourceNamespace = sourceNamespace,
        };
    }

    /// <summary>All four pod keys or none: a partial set (an old kubelet) names no pod rather than a wrong one.</summary>
    private static PodInfo? PodInfoOf(Google.Protobuf.Collections.MapField<string, string> context, string? podNamespace) =>
        context.TryGetValue(CsiDriver.PodUidAttribute, out var uid) && uid.Length > 0
        && context.TryGetValue(CsiDriver.PodNameAttribute, out var name) && name.Length > 0
        && context.TryGetValue(CsiDriver.ServiceAccountAttribute, out var account) && account.Length > 0
        && podNamespace is { Length: > 0 }
            ? new PodInfo(uid, podNamespace, name, account)
            : null;

    /// <summary>
    /// Mount access only, and read-only: a reader mode, or any mode with readonly=true (the plugin never writes).
    /// The spec separates a malformed capability (INVALID_ARGUMENT) from one this volume cannot honour
    /// (FAILED_PRECONDITION, "exceeds capabilities").
    /// </summary>
    private static void CheckCapability(VolumeCapability? capability, bool readOnly)
    {
        if (capability is null)
        {
            throw Invalid("volume_capability is required");
        }

        if (capability.AccessMode is null || capability.AccessMode.Mode == VolumeCapability.Types.AccessMode.Types.Mode.Unknown)
        {
            throw Invalid("volume_capability.access_mode is required");
        }

        if (capability.AccessTypeCase != VolumeCapability.AccessTypeOneofCase.Mount)
        {
            throw Invalid("only mount access is supported (WarpDrive volumes are file systems, not block devices)");
        }

        var mode = capability.AccessMode.Mode;
        var readerMode = mode is VolumeCapability.Types.AccessMode.Types.Mode.MultiNodeReaderOnly or VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeReaderOnly;
        if (!readerMode && !readOnly)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"access mode {mode} needs a writable volume; WarpDrive volumes are read-only (use ReadOnlyMany / readOnly: true)"));
        }
    }

    private static string CheckSubPath(string subPath)
    {
        var trimmed = subPath.Trim('/');
        if (subPath.StartsWith('/') || trimmed.Split('/').Any(segment => segment is ".." or "."))
        {
            throw Invalid($"volume_context.{CsiDriver.SubPathAttribute} \"{subPath}\" must be a relative path without . or .. segments");
        }

        return trimmed;
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
