using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WarpDrive.Telemetry.Sinks;
using Proto = WarpDrive.Telemetry.Grpc;

namespace WarpDrive.Telemetry.Tests;

public sealed class GrpcSinkTests
{
    [Test]
    public async Task SendsTheBatchWithTokenAndRetriesUnavailableWithOneIdempotencyKey()
    {
        using var dir = new TempDirectory();
        var tokenFile = dir.File("token");
        await File.WriteAllTextAsync(tokenFile, "grpc-token\n");
        var service = new RecordingIngest(failFirst: 2, StatusCode.Unavailable);
        await using var server = await StartAsync(service);
        await using var sink = new GrpcSink(new HttpSinkOptions(server.Url) { TokenFile = tokenFile, InitialBackoff = TimeSpan.FromMilliseconds(10) });

        await sink.WriteAsync([Events.Read("a", 10) with { Namespace = "ml", Pod = "p", ServiceAccount = "sa" }, Events.Read("b", 20) with { Op = AccessOp.Stat, Count = 0 }], CancellationToken.None);

        var calls = service.Calls.ToList();
        var stored = calls[^1].Request;
        Assert.Multiple(() =>
        {
            Assert.That(calls, Has.Count.EqualTo(3));
            Assert.That(calls.Select(c => c.Request.IdempotencyKey).Distinct().Count(), Is.EqualTo(1));
            Assert.That(calls.Select(c => c.Authorization), Has.All.EqualTo("Bearer grpc-token"));
            Assert.That(stored.Events.Select(e => (e.Path, e.BytesRead, e.Op, e.Count)), Is.EqualTo(new[] { ("a", 10L, Proto.AccessOp.Read, 1), ("b", 20L, Proto.AccessOp.Stat, 1) }));
            Assert.That((stored.Events[0].Namespace, stored.Events[0].Pod, stored.Events[0].ServiceAccount), Is.EqualTo(("ml", "p", "sa")));
            Assert.That(stored.Events[1].HasNamespace, Is.False);
        });
    }

    [Test]
    public async Task PermissionDeniedIsNotRetried()
    {
        var service = new RecordingIngest(failFirst: int.MaxValue, StatusCode.PermissionDenied);
        await using var server = await StartAsync(service);
        await using var sink = new GrpcSink(new HttpSinkOptions(server.Url));

        var error = Assert.ThrowsAsync<RpcException>(async () => await sink.WriteAsync([Events.Read("a")], CancellationToken.None));

        Assert.That((error!.StatusCode, service.Calls.Count), Is.EqualTo((StatusCode.PermissionDenied, 1)));
    }

    private static async Task<Server> StartAsync(RecordingIngest service)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        var app = builder.Build();
        app.MapGrpcService<RecordingIngest>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new Server(app, new Uri(address));
    }

    private sealed record Server(WebApplication App, Uri Url) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }

    /// <summary>The Ingest service, recording each call; the first <c>failFirst</c> calls fail with <c>status</c>.</summary>
    private sealed class RecordingIngest(int failFirst, StatusCode status) : Proto.Ingest.IngestBase
    {
        public ConcurrentQueue<(Proto.IngestRequest Request, string? Authorization)> Calls { get; } = new();

        public override Task<Proto.IngestReply> Ingest(Proto.IngestRequest request, ServerCallContext context)
        {
            Calls.Enqueue((request, context.RequestHeaders.GetValue("authorization")));
            if (Calls.Count <= failFirst)
            {
                throw new RpcException(new Status(status, "test refusal"));
            }

            return Task.FromResult(new Proto.IngestReply { Accepted = request.Events.Count });
        }
    }
}
