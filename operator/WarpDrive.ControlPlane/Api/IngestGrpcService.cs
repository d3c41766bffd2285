using Grpc.Core;
using Microsoft.Extensions.Logging;
using WarpDrive.ControlPlane.Store;
using Proto = WarpDrive.Telemetry.Grpc;

namespace WarpDrive.ControlPlane.Api;

/// <summary>
/// <c>warpdrive.telemetry.v1.Ingest/Ingest</c> (proto/telemetry.proto), the gRPC twin of <c>POST /api/v1/ingest</c>
/// for agents with <c>telemetry.sink: grpc</c>: the same validation, idempotency and quota refresh
/// (<see cref="Ingestion"/>). The bearer token is checked before this runs (role agent), by the same middleware.
/// </summary>
internal sealed class IngestGrpcService(Ingestion ingestion, ILogger<IngestGrpcService> logger) : Proto.Ingest.IngestBase
{
    public override async Task<Proto.IngestReply> Ingest(Proto.IngestRequest request, ServerCallContext context)
    {
        IngestResult result;
        try
        {
            result = await ingestion.IngestAsync([.. request.Events.Select(FromProto)], request.IdempotencyKey, context.CancellationToken).ConfigureAwait(false);
        }
        catch (ValidationException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{e.Parameter}: {e.Message}"));
        }
        catch (Exception e) when (e is not (OperationCanceledException or RpcException))
        {
            // As on the REST side: the exception may quote SQL or connection details, so only the log sees it.
            logger.LogError("gRPC ingest failed: {Type}: {Message}", e.GetType().Name, e.Message);
            throw new RpcException(new Status(StatusCode.Internal, "the request failed; see the control plane log"));
        }

        return new Proto.IngestReply { Accepted = result.Accepted };
    }

    private static AccessEvent FromProto(Proto.AccessEvent e) => new()
    {
        Ts = e.Ts?.ToDateTimeOffset(),
        Node = e.Node,
        User = e.User,
        Namespace = e.HasNamespace ? e.Namespace : null,
        Pod = e.HasPod ? e.Pod : null,
        ServiceAccount = e.HasServiceAccount ? e.ServiceAccount : null,
        Backend = e.Backend,
        Path = e.Path,
        Op = e.Op switch
        {
            Proto.AccessOp.Read => "read",
            Proto.AccessOp.Open => "open",
            Proto.AccessOp.Stat => "stat",
            Proto.AccessOp.List => "list",
            _ => null, // refused by validation, naming the field
        },
        BytesRead = e.BytesRead,
        CacheHit = e.CacheHit,
        LatencyMs = e.LatencyMs,
        Count = e.Count == 0 ? null : e.Count, // proto3's unset int is 0; the REST contract's default is 1
    };
}
