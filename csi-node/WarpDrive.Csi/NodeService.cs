using Csi.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using WarpDrive.Config;

namespace WarpDrive.Csi;

/// <summary>
/// The CSI Node service: publishes a data source (or a directory in it) read-only at a pod's target path by
/// bind-mounting the node's one FUSE mount of that source. Arguments are checked first, then tenancy, then the
/// per-volume try-lock; every error is a gRPC status code as the spec lists them.
/// </summary>
/// <remarks>
/// A source with <c>auth.source: pod</c> reads with each pod's own identity: the publish must carry the pod (podInfoOnMount)
/// and its token for the source's audience (the CSIDriver's tokenRequests), the pod's service account is read for the
/// annotations that name its cloud identity, and the volume binds the pod's own mount of the source. kubelet republishes
/// such volumes (requiresRepublish) to refresh the token: an idempotent repeat hands the new one over.
/// </remarks>
public sealed class NodeService(NodeIdentity identity, SourceMounts sources, Publications publications, VolumeLocks locks, IMounter mounter,
    IServiceAccountDirectory serviceAccounts, ILogger<NodeService> logger)
    : global::Csi.V1.Node.NodeBase
{
    public override Task<NodeGetCapabilitiesResponse> NodeGetCapabilities(NodeGetCapabilitiesRequest request, ServerCallContext context) =>
        Task.FromResult(new NodeGetCapabilitiesResponse
        {
            Capabilities =
            {
                new NodeServiceCapability { Rpc = new NodeServiceCapability.Types.RPC { Type = NodeServiceCapability.Types.RPC.Types.Type.GetVolumeStats } },
            },
        });

    public override Task<NodeGetInfoResponse> NodeGetInfo(NodeGetInfoRequest request, ServerCallContext context) =>
        Task.FromResult(new NodeGetInfoResponse
        {
            NodeId = identity.NodeId,
            AccessibleTopology = new Topology { Segments = { [CsiDriver.TopologyNodeKey] = identity.NodeId } },
        });

    public override async Task<NodePublishVolumeResponse> NodePublishVolume(NodePublishVolumeRequest request, ServerCallContext context)
    {
        var requested = VolumeRequest.Parse(request);
        var source = requested.FindSource(sources.Find)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"data source \"{requested.Source}\"" +
                (requested.SourceNamespace is { } ns ? $" of namespace \"{ns}\"" : "") + " is not in this node's config"));
        var volume = requested with { Source = source.Name }; // from here on, the backend's own name
        if (TenancyPolicy.Deny(source, volume.PodNamespace) is { } reason)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, reason));
        }

        using var held = locks.TryAcquire(volume.VolumeId)
            ?? throw new RpcException(new Status(StatusCode.Aborted, $"an operation on volume {volume.VolumeId} is already in progress"));

        var credentials = source.Auth.Source == AuthSources.Pod ? await PodCredentialsAsync(source, volume, context.CancellationToken).ConfigureAwait(false) : null;
        if (publications.Find(volume.TargetPath) is { } existing)
        {
            if (existing.VolumeId == volume.VolumeId && mounter.IsMountPoint(volume.TargetPath))
            {
                if (credentials is not null)
                {
                    try
                    {
                        // kubelet's republish (requiresRepublish): the way a rotated token arrives.
                        await sources.RenewAsync(volume.TargetPath, credentials, context.CancellationToken).ConfigureAwait(false);
                    }
                    catch (ConfigException e)
                    {
                        throw IdentityUnusable(e);
                    }
                }

                return new NodePublishVolumeResponse(); // idempotent repeat
            }

            if (existing.VolumeId != volume.VolumeId)
            {
                throw new RpcException(new Status(StatusCode.AlreadyExists, $"target {volume.TargetPath} already holds volume {existing.VolumeId}"));
            }
        }
        else if (mounter.IsMountPoint(volume.TargetPath))
        {
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"target {volume.TargetPath} is already a mount point not published by this plugin"));
        }

        string root;
        try
        {
            root = await sources.AcquireAsync(source, volume.TargetPath, volume.ReadaheadBytes, context.CancellationToken, credentials?.Pod.Uid, credentials).ConfigureAwait(false);
        }
        catch (ConfigException e) when (credentials is not null)
        {
            throw IdentityUnusable(e);
        }

        try
        {
            var bindSource = ResolveBindSource(root, volume);
            Directory.CreateDirectory(volume.TargetPath);
            mounter.BindMountReadOnly(bindSource, volume.TargetPath);
            try
            {
                publications.Add(new Publication(volume.VolumeId, volume.Source, volume.TargetPath, bindSource, volume.Pod, volume.ReadaheadBytes));
            }
            catch
            {
                mounter.Unmount(volume.TargetPath); // unrecorded, a restart could not clean it up: never leave it
                throw;
            }

            logger.LogInformation("published volume {VolumeId} (source {Source}{SubPath}) at {Target}{Identity}{ReadOnlyNote}", volume.VolumeId, volume.Source,
                volume.SubPath.Length > 0 ? "/" + volume.SubPath : "", volume.TargetPath,
                credentials is not null ? $" with the identity of {credentials}" : "",
                volume.AsksForWrites ? $", read-only although access mode {request.VolumeCapability.AccessMode.Mode} asks for writes" : "");
            return new NodePublishVolumeResponse();
        }
        catch
        {
            await sources.ReleaseAsync(volume.Source, volume.TargetPath).ConfigureAwait(false);
            throw;
        }
    }

    public override async Task<NodeUnpublishVolumeResponse> NodeUnpublishVolume(NodeUnpublishVolumeRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.VolumeId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "volume_id is required"));
        }

        if (string.IsNullOrEmpty(request.TargetPath))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "target_path is required"));
        }

        using var held = locks.TryAcquire(request.VolumeId)
            ?? throw new RpcException(new Status(StatusCode.Aborted, $"an operation on volume {request.VolumeId} is already in progress"));

        var target = Path.TrimEndingDirectorySeparator(request.TargetPath);
        var published = publications.Find(target);
        if (published is not null && published.VolumeId != request.VolumeId)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"target {target} holds volume {published.VolumeId}, not {request.VolumeId}"));
        }

        // Unknown targets are unmounted too: after a plugin restart kubelet still cleans up what the last run published.
        mounter.Unmount(target);
        TryRemoveDirectory(target);
        if (published is not null)
        {
            publications.Remove(target);
            await sources.ReleaseAsync(published.Source, target).ConfigureAwait(false);
            logger.LogInformation("unpublished volume {VolumeId} from {Target}", request.VolumeId, target);
        }

        return new NodeUnpublishVolumeResponse();
    }

    public override Task<NodeGetVolumeStatsResponse> NodeGetVolumeStats(NodeGetVolumeStatsRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.VolumeId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "volume_id is required"));
        }

        if (string.IsNullOrEmpty(request.VolumePath))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "volume_path is required"));
        }

        var path = Path.TrimEndingDirectorySeparator(request.VolumePath);
        var published = publications.Find(path);
        if (published is null || published.VolumeId != request.VolumeId || !mounter.IsMountPoint(path))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"volume {request.VolumeId} is not published at {path}"));
        }

        var usage = BindMounts.Usage(path);
        return Task.FromResult(new NodeGetVolumeStatsResponse
        {
            Usage =
            {
                new VolumeUsage { Unit = VolumeUsage.Types.Unit.Bytes, Total = usage.TotalBytes, Available = usage.AvailableBytes, Used = usage.UsedBytes },
                new VolumeUsage { Unit = VolumeUsage.Types.Unit.Inodes, Total = usage.TotalInodes, Available = usage.FreeInodes, Used = Math.Max(0, usage.TotalInodes - usage.FreeInodes) },
            },
        });
    }

    /// <summary>
    /// The pod's credentials for a source that reads with its identity: its token for the source's audience and its
    /// service account's annotations. Whatever is missing is FAILED_PRECONDITION naming what the cluster must provide.
    /// </summary>
    private async Task<PodCredentials> PodCredentialsAsync(BackendConfig source, VolumeRequest volume, CancellationToken cancellationToken)
    {
        var pod = volume.Pod ?? throw Precondition($"data source \"{volume.Source}\" reads with the pod's identity (auth.source: pod), but the request names no pod: "
            + "the CSIDriver must have podInfoOnMount: true");
        var audience = AuthSources.AudienceOf(source) ?? throw Precondition($"data source \"{volume.Source}\" reads with the pod's identity but has no auth.audience");
        if (!volume.Tokens.TryGetValue(audience, out var token))
        {
            throw Precondition($"kubelet sent no service-account token for audience \"{audience}\", which data source \"{volume.Source}\" (auth.source: pod) "
                + $"needs: add it to the tokenRequests of CSIDriver {CsiDriver.Name} (chart value csiDriver.tokenRequests)"
                + (volume.Tokens.Count > 0 ? $"; it sent tokens for: {string.Join(", ", volume.Tokens.Keys)}" : ""));
        }

        try
        {
            var annotations = await serviceAccounts.AnnotationsAsync(pod.Namespace, pod.ServiceAccount, cancellationToken).ConfigureAwait(false);
            return new PodCredentials(pod, token, annotations);
        }
        catch (ServiceAccountLookupException e)
        {
            throw new RpcException(new Status(e.NotFound ? StatusCode.FailedPrecondition : StatusCode.Unavailable, e.Message));
        }
    }

    /// <summary>Credentials that make no identity (say, no role ARN in the annotations nor the source) are the cluster's to fix.</summary>
    private static RpcException IdentityUnusable(ConfigException e) => Precondition($"the pod's identity cannot be used: {e.Message}");

    private static RpcException Precondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    /// <summary>
    /// The directory to bind: the source root or its subPath, resolved through symlinks and required to stay
    /// inside the source's tree, so a link in the data cannot publish a host path into the pod.
    /// </summary>
    private static string ResolveBindSource(string root, VolumeRequest volume)
    {
        var candidate = volume.SubPath.Length == 0 ? root : Path.Combine(root, volume.SubPath);
        var info = new DirectoryInfo(candidate);
        var resolved = info.Exists || info.LinkTarget is not null ? info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName : null;
        if (resolved is null || !Directory.Exists(resolved))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"{CsiDriver.SubPathAttribute} \"{volume.SubPath}\" is not a directory in data source \"{volume.Source}\""));
        }

        if (resolved != root && !resolved.StartsWith(root + "/", StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{CsiDriver.SubPathAttribute} \"{volume.SubPath}\" leads outside data source \"{volume.Source}\""));
        }

        return resolved;
    }

    private static void TryRemoveDirectory(string target)
    {
        try
        {
            Directory.Delete(target); // only when empty: never touch a pod's data
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Missing, not empty, or still a (detached) mount: kubelet removes it itself.
        }
    }
}

/// <summary>The node this plugin runs on, as reported to kubelet.</summary>
public sealed record NodeIdentity(string NodeId);
