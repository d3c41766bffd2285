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
    /// The pod's service-account tokens by audience, when the CSIDriver asks kubelet for them (tokenRequests); empty
    /// otherwise. Credentials: only a source that reads with the pod's identity uses them, and nothing logs them.
    /// </summary>
    public IReadOnlyDictionary<string, string> Tokens { get; init; } = new Dictionary<string, string>();

    /// <summary>The access mode asks for writes and readonly is not set: published read-only all the same (logged).</summary>
    public bool AsksForWrites { get; init; }

    /// <summary>The node config backend this request means (see <see cref="VolumeHandle.FindSource"/>).</summary>
    public BackendConfig? FindSource(Func<string, BackendConfig?> find) => new VolumeHandle(Source, SourceNamespace).FindSource(find);

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

        VolumeCapabilities.Check(request.VolumeCapability);

        var context = request.VolumeContext;
        var ephemeral = context.TryGetValue(CsiDriver.EphemeralAttribute, out var e) && e == "true";
        context.TryGetValue(CsiDriver.PodNamespaceAttribute, out var podNamespace);
        var handle = VolumeHandle.Of(request.VolumeId, context, ephemeral, podNamespace)
            ?? throw Invalid($"volume_context.{CsiDriver.SourceAttribute} is required (the data source to mount)");
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

        return new VolumeRequest(request.VolumeId, handle.Source, subPath, readahead, ephemeral, podNamespace, Path.TrimEndingDirectorySeparator(request.TargetPath))
        {
            Pod = PodInfoOf(context, podNamespace),
            SourceNamespace = handle.Namespace,
            AsksForWrites = !request.Readonly && VolumeCapabilities.Writes(request.VolumeCapability),
            Tokens = context.TryGetValue(CsiDriver.ServiceAccountTokensAttribute, out var tokens) ? TokensOf(tokens) : new Dictionary<string, string>(),
        };
    }

    /// <summary>kubelet's token map; a malformed one is refused without quoting it (it holds credentials).</summary>
    private static Dictionary<string, string> TokensOf(string json)
    {
        var tokens = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            foreach (var audience in document.RootElement.EnumerateObject())
            {
                if (audience.Value.ValueKind == System.Text.Json.JsonValueKind.Object
                    && audience.Value.TryGetProperty("token", out var token) && token.GetString() is { Length: > 0 } value)
                {
                    tokens[audience.Name] = value;
                }
            }
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw Invalid($"volume_context.{CsiDriver.ServiceAccountTokensAttribute} is not the JSON object kubelet sends (audience → token)");
        }

        return tokens;
    }

    /// <summary>All four pod keys or none: a partial set (an old kubelet) names no pod rather than a wrong one.</summary>
    private static PodInfo? PodInfoOf(Google.Protobuf.Collections.MapField<string, string> context, string? podNamespace) =>
        context.TryGetValue(CsiDriver.PodUidAttribute, out var uid) && uid.Length > 0
        && context.TryGetValue(CsiDriver.PodNameAttribute, out var name) && name.Length > 0
        && context.TryGetValue(CsiDriver.ServiceAccountAttribute, out var account) && account.Length > 0
        && podNamespace is { Length: > 0 }
            ? new PodInfo(uid, podNamespace, name, account)
            : null;

    internal static string CheckSubPath(string subPath)
    {
        var trimmed = subPath.Trim('/');
        if (subPath.StartsWith('/') || trimmed.Split('/').Any(segment => segment is ".." or "."))
        {
            throw Invalid($"volume_context.{CsiDriver.SubPathAttribute} \"{subPath}\" must be a relative path without . or .. segments");
        }

        return trimmed;
    }

    internal static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
