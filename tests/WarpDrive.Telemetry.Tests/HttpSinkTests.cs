using System.Net;
using WarpDrive.Telemetry.Sinks;

namespace WarpDrive.Telemetry.Tests;

public sealed class HttpSinkTests
{
    [Test]
    public async Task PostsTheBatchWithTheTokenFromTheFileAndRetriesWithOneIdempotencyKey()
    {
        using var dir = new TempDirectory();
        var tokenFile = dir.File("token");
        await File.WriteAllTextAsync(tokenFile, "s3cr3t-token\n");
        using var server = new LoopbackIngestServer((_, n) => Task.FromResult(n < 2 ? 503 : 202));
        await using var sink = new HttpSink(new HttpSinkOptions(server.BaseUrl) { TokenFile = tokenFile, InitialBackoff = TimeSpan.FromMilliseconds(10) });

        await sink.WriteAsync([Events.Read("a"), Events.Read("b")], CancellationToken.None);

        var requests = server.Received.ToList();
        Assert.Multiple(() =>
        {
            Assert.That(requests, Has.Count.EqualTo(3), "two 503s, then accepted");
            Assert.That(requests.Select(r => (r.Method, r.Path)), Has.All.EqualTo(("POST", "/api/v1/ingest")));
            Assert.That(requests.Select(r => r.Authorization), Has.All.EqualTo("Bearer s3cr3t-token"));
            Assert.That(requests.Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(1));
            Assert.That(requests[0].IdempotencyKey, Is.Not.Empty);
            Assert.That(Events.OfIngestBody(requests[2].Body).Select(e => e.GetProperty("path").GetString()), Is.EqualTo(new[] { "a", "b" }));
        });
    }

    [Test]
    public async Task EachBatchHasItsOwnIdempotencyKey()
    {
        using var server = new LoopbackIngestServer((_, _) => Task.FromResult(202));
        await using var sink = new HttpSink(new HttpSinkOptions(server.BaseUrl));
        await sink.WriteAsync([Events.Read("a")], CancellationToken.None);
        await sink.WriteAsync([Events.Read("b")], CancellationToken.None);
        Assert.That(server.Received.Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(2));
    }

    [Test]
    public async Task ARefusalFailsAtOnceWithoutTheToken()
    {
        using var dir = new TempDirectory();
        var tokenFile = dir.File("token");
        await File.WriteAllTextAsync(tokenFile, "s3cr3t-token");
        using var server = new LoopbackIngestServer((_, _) => Task.FromResult(403));
        await using var sink = new HttpSink(new HttpSinkOptions(server.BaseUrl) { TokenFile = tokenFile });

        var error = Assert.ThrowsAsync<HttpRequestException>(async () => await sink.WriteAsync([Events.Read("a")], CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(error!.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(error.Message, Does.Contain("403").And.Not.Contain("s3cr3t"));
            Assert.That(server.Received, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public async Task GivesUpAfterTheRetriesWhenTheServerKeepsFailing()
    {
        using var server = new LoopbackIngestServer((_, _) => Task.FromResult(500));
        await using var sink = new HttpSink(new HttpSinkOptions(server.BaseUrl) { MaxRetries = 3, InitialBackoff = TimeSpan.FromMilliseconds(5) });

        Assert.ThrowsAsync<TransientIngestException>(async () => await sink.WriteAsync([Events.Read("a")], CancellationToken.None));
        Assert.That(server.Received, Has.Count.EqualTo(4), "one attempt and three retries");
    }
}
