using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging;
using WarpDrive.Operator.Governance;
using Identity = WarpDrive.Operator.Tests.Governance.KubernetesApiTestDouble.Identity;

namespace WarpDrive.Operator.Tests.Governance;

/// <summary>
/// The control plane as <c>warpdrive-operator run</c> starts it (<see cref="EmbeddedControlPlane.StartAsync"/>, SQLite
/// in a temp dir), asked over real HTTP, with every bearer token checked by TokenReview against
/// <see cref="KubernetesApiTestDouble"/> through the real KubernetesClient.
/// </summary>
public sealed class EmbeddedControlPlaneTests
{
    private const string Namespace = "wd-test";
    private const string Audience = "warpdrive-control-plane";
    private const string NodeAccount = "system:serviceaccount:wd-test:warpdrive-node";
    private static readonly string[] ServiceAccountGroups = ["system:serviceaccounts", "system:serviceaccounts:wd-test", "system:authenticated"];

    private KubernetesApiTestDouble _apiServer = null!;
    private k8s.Kubernetes _client = null!;
    private EmbeddedControlPlane _controlPlane = null!;
    private HttpClient _http = null!;
    private string _dataDir = null!;
    private readonly CollectingLoggerProvider _logs = new();
    private ILoggerFactory _logging = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _apiServer = await KubernetesApiTestDouble.StartAsync();
        _client = _apiServer.Client();
        _dataDir = Directory.CreateTempSubdirectory("wd-operator-cp-").FullName;
        _logging = LoggerFactory.Create(b => b.AddProvider(_logs).SetMinimumLevel(LogLevel.Debug));
        _controlPlane = await EmbeddedControlPlane.StartAsync(new ControlPlaneSettings
        {
            ListenAddress = "127.0.0.1:0",
            Database = $"sqlite://{_dataDir}/control-plane.db",
            Admins = ["user:alice@example.com"],
            Readers = ["group:oidc:data-scientists"],
            ReviewTimeout = TimeSpan.FromSeconds(1),
        }, Namespace, _client, _logging, CancellationToken.None);
        // A timeout far above the validator's own: a hanging validator fails the test instead of hanging it.
        _http = new HttpClient { BaseAddress = _controlPlane.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        _http?.Dispose();
        if (_controlPlane is not null)
        {
            await _controlPlane.DisposeAsync();
        }

        _client?.Dispose();
        if (_apiServer is not null)
        {
            await _apiServer.DisposeAsync();
        }

        _logging?.Dispose();
        if (_dataDir is not null)
        {
            Directory.Delete(_dataDir, recursive: true);
        }
    }

    [SetUp]
    public void ApiServerBehavesNormally()
    {
        _apiServer.FailWith = null;
        _apiServer.Hang = false;
        _apiServer.IgnoresAudiences = false;
    }

    [Test]
    public async Task Health_needs_no_token_and_api_without_a_token_is_401_without_asking_the_api_server()
    {
        var before = _apiServer.TokenReviews;
        using var health = await _http.GetAsync("healthz");
        using var noToken = await _http.GetAsync("api/v1/usage");
        Assert.Multiple(() =>
        {
            Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(noToken.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(noToken.Headers.WwwAuthenticate.ToString(), Is.EqualTo("Bearer"));
            Assert.That(_apiServer.TokenReviews, Is.EqualTo(before));
        });
    }

    [Test]
    public async Task Unknown_token_is_401()
    {
        using var response = await SendAsync(HttpMethod.Get, "api/v1/usage", "not-a-token-anyone-issued");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Node_agent_may_ingest_but_not_read()
    {
        var token = Token(new Identity(NodeAccount, ServiceAccountGroups, [Audience]));
        using var ingest = await SendAsync(HttpMethod.Post, "api/v1/ingest", token, IngestBody());
        using var usage = await SendAsync(HttpMethod.Get, "api/v1/usage", token);
        Assert.Multiple(async () =>
        {
            Assert.That(ingest.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await ingest.Content.ReadAsStringAsync());
            Assert.That(usage.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        });
    }

    [Test]
    public async Task Node_agent_stays_an_agent_even_in_the_admins_group()
    {
        var token = Token(new Identity(NodeAccount, [.. ServiceAccountGroups, "warpdrive:admins"], [Audience]));
        using var quota = await SendAsync(HttpMethod.Put, "api/v1/quota", token, QuotaBody());
        using var ingest = await SendAsync(HttpMethod.Post, "api/v1/ingest", token, IngestBody());
        Assert.Multiple(() =>
        {
            Assert.That(quota.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(ingest.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        });
    }

    [Test]
    public async Task Another_service_account_is_not_an_agent()
    {
        var token = Token(new Identity("system:serviceaccount:ml-team:trainer", ["system:serviceaccounts", "system:authenticated"], [Audience]));
        using var ingest = await SendAsync(HttpMethod.Post, "api/v1/ingest", token, IngestBody());
        Assert.That(ingest.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "authenticated, but in no role");
    }

    [TestCase("bob", "warpdrive:readers")]
    [TestCase("oidc:frank", "oidc:data-scientists")]
    public async Task Reader_may_query_but_not_put_quotas_or_ingest(string user, string group)
    {
        var token = Token(new Identity(user, [group, "system:authenticated"], [Audience]));
        using var usage = await SendAsync(HttpMethod.Get, "api/v1/usage", token);
        using var quota = await SendAsync(HttpMethod.Put, "api/v1/quota", token, QuotaBody());
        using var ingest = await SendAsync(HttpMethod.Post, "api/v1/ingest", token, IngestBody());
        Assert.Multiple(() =>
        {
            Assert.That(usage.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(quota.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(ingest.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        });
    }

    [TestCase("carol", "warpdrive:admins")]
    [TestCase("alice@example.com", "system:authenticated")]
    public async Task Admin_may_put_quotas_and_query(string user, string group)
    {
        var token = Token(new Identity(user, [group, "warpdrive:readers"], [Audience]));
        using var quota = await SendAsync(HttpMethod.Put, "api/v1/quota", token, QuotaBody());
        using var quotas = await SendAsync(HttpMethod.Get, "api/v1/quota", token);
        Assert.Multiple(async () =>
        {
            Assert.That(quota.StatusCode, Is.EqualTo(HttpStatusCode.OK), await quota.Content.ReadAsStringAsync());
            Assert.That(await quotas.Content.ReadAsStringAsync(), Does.Contain("\"team\":\"vision\""));
        });
    }

    [Test]
    public async Task Token_minted_for_another_audience_is_401()
    {
        // An admin's ordinary API-server token: the review asks for our audience only, so it is refused.
        var token = Token(new Identity("dave", ["warpdrive:admins"], [KubernetesApiTestDouble.ApiServerAudience]));
        using var response = await SendAsync(HttpMethod.Get, "api/v1/usage", token);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Api_server_that_ignores_audiences_is_not_trusted_with_them()
    {
        _apiServer.IgnoresAudiences = true;
        var token = Token(new Identity("gina", ["warpdrive:admins"], [KubernetesApiTestDouble.ApiServerAudience]));
        using var response = await SendAsync(HttpMethod.Get, "api/v1/usage", token);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task Api_server_error_is_401_and_not_cached()
    {
        var token = Token(new Identity("henry", ["warpdrive:readers"], [Audience]));
        var before = _apiServer.TokenReviews;

        _apiServer.FailWith = HttpStatusCode.InternalServerError;
        using var failed = await SendAsync(HttpMethod.Get, "api/v1/usage", token);
        _apiServer.FailWith = null;
        using var recovered = await SendAsync(HttpMethod.Get, "api/v1/usage", token);

        Assert.Multiple(() =>
        {
            Assert.That(failed.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(recovered.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(_apiServer.TokenReviews - before, Is.EqualTo(2), "the error was not cached: the next request asked again");
            Assert.That(_logs.Messages, Has.Some.Contains("TokenReview failed with HTTP 500"));
        });
    }

    [Test]
    public async Task Api_server_that_never_answers_gives_401_instead_of_a_hanging_request()
    {
        _apiServer.Hang = true;
        var token = Token(new Identity("ivan", ["warpdrive:readers"], [Audience]));
        using var response = await SendAsync(HttpMethod.Get, "api/v1/usage", token);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            Assert.That(_logs.Messages, Has.Some.Contains("TokenReview got no answer"));
        });
    }

    [Test]
    public async Task Answers_are_cached_so_a_second_request_with_the_same_token_makes_no_review()
    {
        var accepted = Token(new Identity("judy", ["warpdrive:readers"], [Audience]));
        var refused = "never-issued-" + Guid.NewGuid();
        var before = _apiServer.TokenReviews;

        foreach (var token in new[] { accepted, accepted, refused, refused })
        {
            using var response = await SendAsync(HttpMethod.Get, "api/v1/usage", token);
            Assert.That(response.StatusCode, Is.EqualTo(token == accepted ? HttpStatusCode.OK : HttpStatusCode.Unauthorized));
        }

        Assert.That(_apiServer.TokenReviews - before, Is.EqualTo(2), "one review per token, positive and negative");
    }

    [Test]
    public async Task Tokens_never_reach_the_log()
    {
        var tokens = new[]
        {
            Token(new Identity("kate", ["warpdrive:admins"], [KubernetesApiTestDouble.ApiServerAudience])),
            Token(new Identity("leo", ["system:authenticated"], [Audience])),
            Token(new Identity("mia", ["warpdrive:readers"], [Audience])),
        };
        _apiServer.FailWith = HttpStatusCode.InternalServerError;
        using (await SendAsync(HttpMethod.Get, "api/v1/usage", tokens[2]))
        {
        }

        _apiServer.FailWith = null;
        foreach (var token in tokens)
        {
            using var response = await SendAsync(HttpMethod.Get, "api/v1/usage", token);
        }

        Assert.Multiple(() =>
        {
            Assert.That(_logs.Messages, Has.Some.Contains("leo is authenticated but has no control-plane role"), "refusals are logged by user name");
            Assert.That(_logs.Messages, Has.Some.Contains("TokenReview failed with HTTP 500"));
            foreach (var token in tokens)
            {
                Assert.That(_logs.Messages, Has.None.Contains(token));
            }
        });
    }

    private string Token(Identity identity)
    {
        var token = "tok-" + Guid.NewGuid().ToString("N");
        _apiServer.AddToken(token, identity);
        return token;
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await _http.SendAsync(request);
    }

    private static object QuotaBody() => new { team = "vision", backend = "datasets", soft_bytes = 1000, hard_bytes = 2000 };

    private static object IngestBody() => new
    {
        events = new[]
        {
            new
            {
                ts = DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O"),
                node = "node-1",
                user = "bob",
                @namespace = "ml",
                backend = "datasets",
                path = "train/shard-0001.tar",
                op = "read",
                bytes_read = 4096,
                cache_hit = false,
                latency_ms = 1.5,
                count = 1,
            },
        },
    };

    /// <summary>Keeps every formatted log message, to check what reaches the log (and what never does).</summary>
    private sealed class CollectingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _messages = new();

        public IReadOnlyList<string> Messages => _messages.ToArray();

        public ILogger CreateLogger(string categoryName) => new Collector(_messages);

        public void Dispose()
        {
        }

        private sealed class Collector(ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception) + (exception is null ? "" : " " + exception));
        }
    }
}
