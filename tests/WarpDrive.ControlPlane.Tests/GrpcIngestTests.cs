using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using WarpDrive.Telemetry;
using WarpDrive.Telemetry.Sinks;

namespace WarpDrive.ControlPlane.Tests;

/// <summary>
/// The gRPC ingest endpoint, driven by the agent's own <see cref="GrpcSink"/> over real HTTP/2 on loopback, against a
/// control plane on SQLite: the same semantics and the same roles as <c>POST /api/v1/ingest</c>.
/// </summary>
[TestFixture]
public sealed class GrpcIngestTests
{
    private const string ReaderToken = "reader-token-grpc";
    private string _scratch = "";
    private ControlPlaneHost _host = null!;

    [SetUp]
    public async Task StartAsync()
    {
        _scratch = Directory.CreateTempSubdirectory("wd-cp-grpc-").FullName;
        await File.WriteAllTextAsync(Path.Combine(_scratch, "agent.token"), "agent-token-grpc\n");
        await File.WriteAllTextAsync(Path.Combine(_scratch, "reader.token"), ReaderToken + "\n");
        await File.WriteAllTextAsync(Path.Combine(_scratch, "tokens.yaml"), $"""
            - {"{"} name: node-agents, role: agent, token_file: agent.token {"}"}
            - {"{"} name: dashboards, role: reader, token_sha256: {Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(ReaderToken)))} {"}"}
            """);
        _host = await ControlPlaneHost.StartAsync(new ControlPlaneOptions
        {
            ListenAddress = "127.0.0.1:0",
            GrpcListenAddress = "127.0.0.1:0",
            Database = $"sqlite://{Path.Combine(_scratch, "cp.db")}",
            TokensFile = Path.Combine(_scratch, "tokens.yaml"),
        }, CancellationToken.None);
    }

    [TearDown]
    public async Task StopAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_scratch, recursive: true);
    }

    [Test]
    public async Task AnAgentsBatchOverGrpcIsCountedLikeARestBatch()
    {
        await using (var sink = Sink("agent.token"))
        {
            await sink.WriteAsync([Read("system:serviceaccount:ml:trainer", 1000, hit: false), Read("system:serviceaccount:ml:trainer", 500, hit: true)], CancellationToken.None);
        }

        using var http = new HttpClient { BaseAddress = _host.BaseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ReaderToken);
        var usage = JsonDocument.Parse(await http.GetStringAsync("api/v1/usage?group_by=user")).RootElement.GetProperty("items");

        Assert.That(usage.GetArrayLength(), Is.EqualTo(1));
        var row = usage[0];
        Assert.Multiple(() =>
        {
            Assert.That(row.GetProperty("group").GetString(), Is.EqualTo("system:serviceaccount:ml:trainer"));
            Assert.That(row.GetProperty("bytes_read").GetInt64(), Is.EqualTo(1500));
            Assert.That(row.GetProperty("reads").GetInt64(), Is.EqualTo(2));
            Assert.That(row.GetProperty("cache_hit_ratio").GetDouble(), Is.EqualTo(0.5));
        });
    }

    [Test]
    public void OnlyAgentsMayIngestAndBadEventsNameTheirField()
    {
        var noToken = Assert.ThrowsAsync<RpcException>(async () => await WriteOneAsync(null, Read("alice", 1, hit: false)));
        var reader = Assert.ThrowsAsync<RpcException>(async () => await WriteOneAsync("reader.token", Read("alice", 1, hit: false)));
        var noBackend = Assert.ThrowsAsync<RpcException>(async () => await WriteOneAsync("agent.token", Read("alice", 1, hit: false) with { Backend = "" }));

        Assert.Multiple(() =>
        {
            Assert.That(noToken!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
            Assert.That(reader!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(noBackend!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(noBackend.Status.Detail, Does.StartWith("events[0].backend:"));
        });
    }

    private async Task WriteOneAsync(string? tokenFile, AccessEvent e)
    {
        await using var sink = Sink(tokenFile);
        await sink.WriteAsync([e], CancellationToken.None);
    }

    private GrpcSink Sink(string? tokenFile) => new(new HttpSinkOptions(_host.GrpcAddress!)
    {
        TokenFile = tokenFile is null ? null : Path.Combine(_scratch, tokenFile),
        MaxRetries = 0,
    });

    private static AccessEvent Read(string user, long bytes, bool hit) => new()
    {
        Timestamp = DateTimeOffset.UtcNow,
        Node = "node-1",
        User = user,
        Backend = "datasets",
        Path = "train/shard-0.tar",
        Op = AccessOp.Read,
        BytesRead = bytes,
        CacheHit = hit,
        Count = 1,
    };
}
