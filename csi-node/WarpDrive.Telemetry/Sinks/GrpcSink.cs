using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Polly;
using Polly.Retry;
using Proto = WarpDrive.Telemetry.Grpc;

namespace WarpDrive.Telemetry.Sinks;

/// <summary>
/// Sends each batch with the <c>warpdrive.telemetry.v1.Ingest/Ingest</c> RPC (<c>sink: grpc</c>, proto/telemetry.proto):
/// the same retry policy, idempotency key and token file handling as <see cref="HttpSink"/>. Unavailable,
/// DeadlineExceeded and ResourceExhausted are retried; any other status fails the batch at once.
/// </summary>
public sealed class GrpcSink : ITelemetrySink
{
    private readonly GrpcChannel _channel;
    private readonly Proto.Ingest.IngestClient _client;
    private readonly HttpSinkOptions _options;
    private readonly ResiliencePipeline _retry;

    public GrpcSink(HttpSinkOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _channel = GrpcChannel.ForAddress(options.BaseUrl);
        _client = new Proto.Ingest.IngestClient(_channel);
        _retry = options.MaxRetries == 0 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.InitialBackoff,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is RpcException
                {
                    StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted,
                }),
            })
            .Build();
    }

    public async ValueTask WriteAsync(IReadOnlyList<AccessEvent> batch, CancellationToken cancellationToken)
    {
        var request = new Proto.IngestRequest { IdempotencyKey = Guid.NewGuid().ToString("N") };
        request.Events.AddRange(batch.Select(ToProto));
        await _retry.ExecuteAsync(async token =>
        {
            var headers = new Metadata();
            if (_options.TokenFile is { Length: > 0 } tokenFile)
            {
                headers.Add("authorization", "Bearer " + (await File.ReadAllTextAsync(tokenFile, token)).Trim());
            }

            await _client.IngestAsync(request, headers, DateTime.UtcNow + _options.RequestTimeout, token);
        }, cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        _channel.Dispose();
        return ValueTask.CompletedTask;
    }

    internal static Proto.AccessEvent ToProto(AccessEvent e)
    {
        var message = new Proto.AccessEvent
        {
            Ts = Timestamp.FromDateTimeOffset(e.Timestamp),
            Node = e.Node ?? "",
            User = e.User ?? "",
            Backend = e.Backend ?? "",
            Path = e.Path ?? "",
            Op = e.Op switch
            {
                AccessOp.Read => Proto.AccessOp.Read,
                AccessOp.Open => Proto.AccessOp.Open,
                AccessOp.Stat => Proto.AccessOp.Stat,
                AccessOp.List => Proto.AccessOp.List,
                _ => Proto.AccessOp.Unspecified,
            },
            BytesRead = e.BytesRead,
            CacheHit = e.CacheHit,
            LatencyMs = e.LatencyMs,
            Count = Math.Max(1, e.Count),
        };
        if (e.Namespace is not null)
        {
            message.Namespace = e.Namespace;
        }

        if (e.Pod is not null)
        {
            message.Pod = e.Pod;
        }

        if (e.ServiceAccount is not null)
        {
            message.ServiceAccount = e.ServiceAccount;
        }

        return message;
    }
}
