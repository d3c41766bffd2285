using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using WarpDrive.ControlPlane.Quotas;

namespace WarpDrive.ControlPlane.Tests;

/// <summary>SQLite in a temp file.</summary>
[TestFixture]
public sealed class SqliteGovernanceTests : GovernanceBehaviourTests
{
    protected override Task<(string Url, string? PasswordVariable)> CreateDatabaseAsync(string scratch) =>
        Task.FromResult<(string, string?)>(($"sqlite://{Path.Combine(scratch, "db", "control-plane.db")}", null));
}

/// <summary>A throwaway PostgreSQL cluster started by the fixture; one database per test.</summary>
[TestFixture]
public sealed class PostgresGovernanceTests : GovernanceBehaviourTests
{
    private const string PasswordVariable = "WARPDRIVE_TEST_CONTROL_PLANE_PG_PASSWORD";
    private PostgresCluster? _cluster;

    [OneTimeSetUp]
    public async Task StartClusterAsync()
    {
        _cluster = await PostgresCluster.StartAsync();
        Environment.SetEnvironmentVariable(PasswordVariable, _cluster.Password);
    }

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        Environment.SetEnvironmentVariable(PasswordVariable, null);
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    protected override async Task<(string Url, string? PasswordVariable)> CreateDatabaseAsync(string scratch) =>
        (await _cluster!.CreateDatabaseAsync(), PasswordVariable);
}

/// <summary>
/// The control plane's behaviour over real HTTP (Kestrel on 127.0.0.1, a free port) and a real database engine;
/// one subclass per engine runs the same suite.
/// </summary>
public abstract partial class GovernanceBehaviourTests
{
    private const string AdminToken = "admin-token-1f2e";
    private const string ReaderToken = "reader-token-9a8b";
    private const string AgentToken = "agent-token-7c6d";

    private string _scratch = "";
    private string _data = "";
    private ControlPlaneOptions _options = new();
    private ControlPlaneHost? _host;
    private HttpClient _admin = null!;
    private HttpClient _reader = null!;
    private HttpClient _agent = null!;
    private HttpClient _anonymous = null!;

    protected abstract Task<(string Url, string? PasswordVariable)> CreateDatabaseAsync(string scratch);

    [SetUp]
    public async Task StartAsync()
    {
        _scratch = Directory.CreateTempSubdirectory("wd-cp-test-").FullName;
        _data = Directory.CreateDirectory(Path.Combine(_scratch, "datasets")).FullName;
        await File.WriteAllTextAsync(Path.Combine(_scratch, "agent.token"), AgentToken + "\n");
        await File.WriteAllTextAsync(Path.Combine(_scratch, "tokens.yaml"), $"""
            - name: ops
              role: admin
              token_sha256: {Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(AdminToken)))}
            - name: dashboards
              role: reader
              token_sha256: {Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(ReaderToken))).ToLowerInvariant()}
            - name: node-agents
              role: agent
              token_file: agent.token
            """);
        await File.WriteAllTextAsync(Path.Combine(_scratch, "node.yaml"), $"""
            mount_point: /mnt/warpdrive
            backends:
              - name: datasets
                type: local
                config:
                  root: {_data}
            """);
        var (url, passwordVariable) = await CreateDatabaseAsync(_scratch);
        _options = new ControlPlaneOptions
        {
            ListenAddress = "127.0.0.1:0",
            Database = url,
            DatabasePasswordEnvironmentVariable = passwordVariable,
            TokensFile = Path.Combine(_scratch, "tokens.yaml"),
            NodeConfigPath = Path.Combine(_scratch, "node.yaml"),
            CrawlInterval = TimeSpan.FromHours(24),
        };
        await StartHostAsync();
    }

    [TearDown]
    public async Task StopAsync()
    {
        await StopHostAsync();
        Directory.Delete(_scratch, recursive: true);
    }

    private async Task StartHostAsync()
    {
        _host = await ControlPlaneHost.StartAsync(_options, CancellationToken.None);
        _admin = Client(AdminToken);
        _reader = Client(ReaderToken);
        _agent = Client(AgentToken);
        _anonymous = Client(null);
    }

    private async Task StopHostAsync()
    {
        _admin?.Dispose();
        _reader?.Dispose();
        _agent?.Dispose();
        _anonymous?.Dispose();

        if (_host is not null)
        {
            await _host.DisposeAsync();
            _host = null;
        }
    }

    private HttpClient Client(string? token)
    {
        var client = new HttpClient { BaseAddress = _host!.BaseAddress };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    private static object Read(string user, string path, long bytes, bool hit = false, long count = 1, DateTimeOffset? at = null) => new
    {
        ts = (at ?? DateTimeOffset.UtcNow.AddMinutes(-5)).ToString("O"),
        node = "node-1",
        user,
        @namespace = "ml",
        backend = "datasets",
        path,
        op = "read",
        bytes_read = bytes,
        cache_hit = hit,
        latency_ms = 1.5,
        count,
    };

    private async Task IngestAsync(params object[] events)
    {
        using var response = await _agent.PostAsJsonAsync("api/v1/ingest", new { events });
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonNode> JsonAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), text);
        return JsonNode.Parse(text)!;
    }

    private async Task<JsonNode> GetAsync(string uri, HttpClient? client = null)
    {
        using var response = await (client ?? _reader).GetAsync(uri);
        return await JsonAsync(response);
    }

    private static JsonNode? Item(JsonNode page, string field, string value) =>
        page["items"]!.AsArray().FirstOrDefault(i => i![field]!.GetValue<string>() == value);

    [Test]
    public async Task IngestedReadsAnswerUsageByUserAndTeamAndTheUserReport()
    {
        using (var team = await _admin.PostAsJsonAsync("api/v1/team", new { team = "vision", users = new[] { "alice", "bob" } }))
        {
            Assert.That(team.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        await IngestAsync(
            Read("alice", "imagenet/train-0.tar", 1000),
            Read("alice", "imagenet/train-0.tar", 1000, hit: true, count: 3),
            Read("alice", "imagenet/train-1.tar", 500),
            Read("bob", "imagenet/train-1.tar", 200, hit: true),
            Read("carol", "text/corpus.txt", 50));

        var byUser = await GetAsync("api/v1/usage?group_by=user");
        var alice = Item(byUser, "group", "alice")!;
        Assert.That(alice["bytes_read"]!.GetValue<long>(), Is.EqualTo(2500));
        Assert.That(alice["reads"]!.GetValue<long>(), Is.EqualTo(5));
        Assert.That(alice["cache_hit_ratio"]!.GetValue<double>(), Is.EqualTo(0.6).Within(1e-9));
        Assert.That(alice["files"]!.GetValue<long>(), Is.EqualTo(2));

        var byTeam = await GetAsync("api/v1/usage?group_by=team");
        var vision = Item(byTeam, "group", "vision")!;
        Assert.That(vision["bytes_read"]!.GetValue<long>(), Is.EqualTo(2700));
        Assert.That(vision["reads"]!.GetValue<long>(), Is.EqualTo(6));
        Assert.That(vision["files"]!.GetValue<long>(), Is.EqualTo(2), "distinct objects across the team");
        Assert.That(Item(byTeam, "group", "(none)")!["bytes_read"]!.GetValue<long>(), Is.EqualTo(50), "users in no team");

        var user = await GetAsync("api/v1/user/alice");
        Assert.That(user["team"]!.GetValue<string>(), Is.EqualTo("vision"));
        Assert.That(user["bytes_read"]!.GetValue<long>(), Is.EqualTo(2500));
        Assert.That(user["top_paths"]![0]!["path"]!.GetValue<string>(), Is.EqualTo("imagenet/train-0.tar"));

        var oldWindow = await GetAsync($"api/v1/usage?group_by=user&since={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(-400).ToString("O"))}&until={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(-300).ToString("O"))}");
        Assert.That(oldWindow["items"]!.AsArray(), Is.Empty);
    }

    [Test]
    public async Task ARetriedBatchWithTheSameIdempotencyKeyIsCountedOnce()
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/ingest") { Content = JsonContent.Create(new { events = new[] { Read("dave", "a.bin", 100) } }) };
            request.Headers.Add("Idempotency-Key", "batch-42");
            using var response = await _agent.SendAsync(request);
            var body = await JsonAsync(response, HttpStatusCode.Accepted);
            Assert.That(body["accepted"]!.GetValue<int>(), Is.EqualTo(1));
        }

        await IngestAsync(Read("dave", "a.bin", 100));
        var dave = Item(await GetAsync("api/v1/usage?group_by=user"), "group", "dave")!;
        Assert.That(dave["bytes_read"]!.GetValue<long>(), Is.EqualTo(200), "three deliveries of batch-42 and one batch without a key");
    }

    [Test]
    public async Task DataSurvivesARestartOfTheHost()
    {
        using (await _admin.PostAsJsonAsync("api/v1/team", new { team = "nlp", users = new[] { "erin" } }))
        using (await _admin.PutAsJsonAsync("api/v1/quota", new { team = "nlp", backend = "datasets", soft_bytes = 10, hard_bytes = 20 }))
        {
        }

        await IngestAsync(Read("erin", "corpus/part-1", 4096));
        await StopHostAsync();
        await StartHostAsync();

        Assert.That(Item(await GetAsync("api/v1/usage?group_by=user"), "group", "erin")!["bytes_read"]!.GetValue<long>(), Is.EqualTo(4096));
        var quota = Item(await GetAsync("api/v1/quota"), "team", "nlp")!;
        Assert.That(quota["used_bytes"]!.GetValue<long>(), Is.EqualTo(4096));
        Assert.That(quota["state"]!.GetValue<string>(), Is.EqualTo("hard_exceeded"));
    }

    [Test]
    public async Task QuotasCountSoftCrossingsAndRefuseWarmsOverTheHardLimit()
    {
        var team = $"team-{Guid.NewGuid():N}"[..16];
        var crossings = new List<(long Value, string? Team, string? Backend)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == QuotaMonitor.MeterName && instrument.Name == QuotaMonitor.SoftExceededCounter)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var t = tags.ToArray();
            var mine = t.FirstOrDefault(x => x.Key == "team").Value as string;
            if (mine == team)
            {
                lock (crossings)
                {
                    crossings.Add((value, mine, t.FirstOrDefault(x => x.Key == "backend").Value as string));
                }
            }
        });
        listener.Start();

        using (await _admin.PostAsJsonAsync("api/v1/team", new { team, users = new[] { "frank" } }))
        using (var put = await _admin.PutAsJsonAsync("api/v1/quota", new { team, backend = "datasets", soft_bytes = 1000, hard_bytes = 2000 }))
        {
            Assert.That((await JsonAsync(put))["state"]!.GetValue<string>(), Is.EqualTo("ok"));
        }

        await IngestAsync(Read("frank", "x.bin", 900), Read("frank", "y.bin", 5000, hit: true));
        Assert.That(crossings, Is.Empty, "cache hits bring nothing new into the cache and do not count");

        await IngestAsync(Read("frank", "z.bin", 600));
        Assert.That(crossings, Is.EqualTo(new[] { (1L, (string?)team, (string?)"datasets") }));
        Assert.That(Item(await GetAsync("api/v1/quota"), "team", team)!["state"]!.GetValue<string>(), Is.EqualTo("soft_exceeded"));

        var allowed = await JsonAsync(await _reader.PostAsJsonAsync("api/v1/warm/check", new { team, backend = "datasets", bytes = 400 }));
        Assert.That(allowed["allowed"]!.GetValue<bool>(), Is.True);

        var refused = await JsonAsync(await _admin.PostAsJsonAsync("api/v1/warm/check", new { team, backend = "datasets", bytes = 600 }));
        Assert.That(refused["allowed"]!.GetValue<bool>(), Is.False);
        var askedByAgent = await JsonAsync(await _agent.PostAsJsonAsync("api/v1/warm/check", new { team, backend = "datasets", bytes = 600 }));
        Assert.That(askedByAgent["allowed"]!.GetValue<bool>(), Is.False, "node agents ask before they run a team's warm job");
        Assert.That(refused["reason"]!.GetValue<string>(), Does.Contain("hard quota exceeded").And.Contain("2000"));

        await IngestAsync(Read("frank", "w.bin", 10));
        Assert.That(crossings, Has.Count.EqualTo(1), "staying over the soft limit is one crossing, not one per batch");
    }

    [Test]
    public async Task AnAllBackendsQuotaSumsEveryBackendAndLimitsWarmsOnEach()
    {
        var team = $"team-{Guid.NewGuid():N}"[..16];
        using (await _admin.PostAsJsonAsync("api/v1/team", new { team, users = new[] { "gina" } }))
        using (var put = await _admin.PutAsJsonAsync("api/v1/quota", new { team, backend = "*", soft_bytes = 1000, hard_bytes = 2000 }))
        {
            var quota = await JsonAsync(put);
            Assert.That(quota["backend"]!.GetValue<string>(), Is.EqualTo("*"));
            Assert.That(quota["state"]!.GetValue<string>(), Is.EqualTo("ok"));
        }

        var onArchive = JsonSerializer.SerializeToNode(Read("gina", "old.bin", 800))!.AsObject();
        onArchive["backend"] = "archive";
        await IngestAsync(Read("gina", "x.bin", 900), onArchive);

        var row = Item(await GetAsync("api/v1/quota"), "team", team)!;
        Assert.Multiple(() =>
        {
            Assert.That(row["used_bytes"]!.GetValue<long>(), Is.EqualTo(1700), "900 from datasets + 800 from archive");
            Assert.That(row["state"]!.GetValue<string>(), Is.EqualTo("soft_exceeded"));
        });

        var refused = await JsonAsync(await _reader.PostAsJsonAsync("api/v1/warm/check", new { team, backend = "datasets", bytes = 400 }));
        var allowed = await JsonAsync(await _reader.PostAsJsonAsync("api/v1/warm/check", new { team, backend = "archive", bytes = 300 }));
        Assert.Multiple(() =>
        {
            Assert.That(refused["allowed"]!.GetValue<bool>(), Is.False);
            Assert.That(refused["reason"]!.GetValue<string>(), Does.Contain("all backends"));
            Assert.That(allowed["allowed"]!.GetValue<bool>(), Is.True);
        });
    }

    [Test]
    public async Task TokensAndRolesGuardEveryEndpoint()
    {
        using var noToken = await _anonymous.GetAsync("api/v1/usage");
        Assert.That(noToken.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(noToken.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));

        using var wrongToken = Client("not-a-token");
        using var unknown = await wrongToken.GetAsync("api/v1/stale");
        Assert.That(unknown.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        Assert.That(await unknown.Content.ReadAsStringAsync(), Does.Not.Contain("not-a-token"));

        using var readerPut = await _reader.PutAsJsonAsync("api/v1/quota", new { team = "t", backend = "datasets", soft_bytes = 1, hard_bytes = 2 });
        Assert.That(readerPut.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using var readerIngest = await _reader.PostAsJsonAsync("api/v1/ingest", new { events = new[] { Read("u", "p", 1) } });
        Assert.That(readerIngest.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using var agentRead = await _agent.GetAsync("api/v1/usage");
        Assert.That(agentRead.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using var agentTeam = await _agent.PostAsJsonAsync("api/v1/team", new { team = "t", users = new[] { "u" } });
        Assert.That(agentTeam.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using var agentIngest = await _agent.PostAsJsonAsync("api/v1/ingest", new { events = new[] { Read("u", "p", 1) } });
        Assert.That(agentIngest.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));
        using var adminCrawl = await _admin.PostAsJsonAsync("api/v1/crawl", new { backend = "datasets" });
        Assert.That(adminCrawl.StatusCode, Is.EqualTo(HttpStatusCode.Accepted));

        var health = await JsonAsync(await _anonymous.GetAsync("healthz"));
        Assert.That(health["checks"]!["database"]!.GetValue<string>(), Is.EqualTo("ok"));
    }

    [Test]
    public async Task ListsArePagedWithOpaqueCursors()
    {
        await IngestAsync(Enumerable.Range(0, 5).Select(i => Read($"user-{i}", "p", 10 + i)).ToArray());
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await GetAsync($"api/v1/usage?group_by=user&limit=2{(cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}")}");
            var items = page["items"]!.AsArray();
            Assert.That(items, Has.Count.LessThanOrEqualTo(2));
            seen.AddRange(items.Select(i => i!["group"]!.GetValue<string>()));
            cursor = page["next_cursor"]?.GetValue<string>();
            pages++;
        }
        while (cursor is not null);

        Assert.That(seen, Is.EqualTo(Enumerable.Range(0, 5).Select(i => $"user-{i}")));
        Assert.That(pages, Is.EqualTo(3));

        using var bad = await _reader.GetAsync("api/v1/usage?cursor=%21%21garbage");
        var problem = await JsonAsync(bad, HttpStatusCode.BadRequest);
        Assert.That(problem["parameter"]!.GetValue<string>(), Is.EqualTo("cursor"));
    }

    [TestCase("api/v1/stale?days=-1", "days")]
    [TestCase("api/v1/stale?min_size=big", "min_size")]
    [TestCase("api/v1/usage?limit=5000", "limit")]
    [TestCase("api/v1/usage?group_by=pod", "group_by")]
    [TestCase("api/v1/usage?since=yesterday", "since")]
    [TestCase("api/v1/growth?period=0", "period")]
    [TestCase("api/v1/usage?by=team", "by")]
    [TestCase("api/v1/stale?days=90&minsize=1GB", "minsize")]
    [TestCase("api/v1/quota?team=ml", "team")]
    [TestCase("api/v1/backends?backend=datasets", "backend")]
    [TestCase("api/v1/stale?order=size", "order")]
    [TestCase("api/v1/stale/export?limit=10", "limit")]
    [TestCase("api/v1/usage/daily?group_by=pod", "group_by")]
    [TestCase("api/v1/team/vision/users?group_by=team", "group_by")]
    [TestCase("api/v1/top?limit=101", "limit")]
    [TestCase("api/v1/nodes?days=0", "days")]
    public async Task BadQueryParametersAreProblemDetailsNamingTheParameter(string uri, string parameter)
    {
        using var response = await _reader.GetAsync(uri);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        var problem = await JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem["parameter"]!.GetValue<string>(), Is.EqualTo(parameter));
        Assert.That(problem["detail"]!.GetValue<string>(), Does.StartWith(parameter + ":"));
        Assert.That(problem["title"]!.GetValue<string>(), Is.EqualTo("Bad Request"));
    }

    [Test]
    public async Task BadBodiesAreProblemDetailsNamingTheField()
    {
        var badOp = JsonSerializer.SerializeToNode(Read("u", "p", 1))!.AsObject();
        badOp["op"] = "write";
        var problem = await JsonAsync(await _agent.PostAsJsonAsync("api/v1/ingest", new { events = new object[] { Read("u", "p", 1), badOp } }), HttpStatusCode.BadRequest);
        Assert.That(problem["parameter"]!.GetValue<string>(), Is.EqualTo("events[1].op"));

        using var notJson = await _agent.PostAsync("api/v1/ingest", new StringContent("{\"events\": [{\"ts\": 12}]}", Encoding.UTF8, "application/json"));
        problem = await JsonAsync(notJson, HttpStatusCode.BadRequest);
        Assert.That(problem["parameter"]!.GetValue<string>(), Is.EqualTo("events[0].ts"));

        problem = await JsonAsync(await _admin.PutAsJsonAsync("api/v1/quota", new { team = "t", backend = "datasets", soft_bytes = 5, hard_bytes = 1 }), HttpStatusCode.BadRequest);
        Assert.That(problem["parameter"]!.GetValue<string>(), Is.EqualTo("soft_bytes"));

        problem = await JsonAsync(await _admin.PostAsJsonAsync("api/v1/crawl", new { backend = "nope" }), HttpStatusCode.BadRequest);
        Assert.That(problem["parameter"]!.GetValue<string>(), Is.EqualTo("backend"));
    }

    [Test]
    public async Task CrawlsIndexTheBackendAndFollowAddsChangesAndDeletes()
    {
        await File.WriteAllBytesAsync(Path.Combine(_data, "a.bin"), new byte[10]);
        Directory.CreateDirectory(Path.Combine(_data, "sub"));
        await File.WriteAllBytesAsync(Path.Combine(_data, "sub", "b.bin"), new byte[20]);
        await CrawlAsync();

        var growth = await GetAsync("api/v1/growth?backend=datasets");
        Assert.That(growth["items"]!.AsArray(), Has.Count.EqualTo(1));
        Assert.That(growth["items"]![0]!["objects"]!.GetValue<long>(), Is.EqualTo(2));
        Assert.That(growth["items"]![0]!["bytes"]!.GetValue<long>(), Is.EqualTo(30));
        var stale = await GetAsync("api/v1/stale?days=90&backend=datasets");
        Assert.That(Paths(stale), Is.EquivalentTo(new[] { "a.bin", "sub/b.bin" }));
        Assert.That(stale["items"]![0]!["last_access"], Is.Null, "never read");

        await IngestAsync(Read("gina", "a.bin", 10));
        Assert.That(Paths(await GetAsync("api/v1/stale?days=90")), Is.EqualTo(new[] { "sub/b.bin" }), "a.bin was just read");
        Assert.That(Paths(await GetAsync("api/v1/stale?days=90&min_size=21")), Is.Empty);

        File.Delete(Path.Combine(_data, "a.bin"));
        await File.WriteAllBytesAsync(Path.Combine(_data, "sub", "b.bin"), new byte[200]);
        await File.WriteAllBytesAsync(Path.Combine(_data, "c.bin"), new byte[3]);
        await CrawlAsync();

        growth = await GetAsync("api/v1/growth?backend=datasets");
        Assert.That(growth["items"]!.AsArray().Select(i => (i!["objects"]!.GetValue<long>(), i["bytes"]!.GetValue<long>())), Is.EqualTo(new[] { (2L, 30L), (2L, 203L) }));
        stale = await GetAsync("api/v1/stale?days=90");
        Assert.That(Paths(stale), Is.EquivalentTo(new[] { "sub/b.bin", "c.bin" }));
        Assert.That(Item(stale, "path", "sub/b.bin")!["size"]!.GetValue<long>(), Is.EqualTo(200));

        var backends = await GetAsync("api/v1/backends");
        var datasets = Item(backends, "name", "datasets")!;
        Assert.That(datasets["type"]!.GetValue<string>(), Is.EqualTo("local"));
        Assert.That(datasets["objects"]!.GetValue<long>(), Is.EqualTo(2));
        Assert.That(datasets["last_crawl"], Is.Not.Null);
    }

    private static string[] Paths(JsonNode page) => page["items"]!.AsArray().Select(i => i!["path"]!.GetValue<string>()).ToArray();

    private async Task CrawlAsync()
    {
        var id = (await JsonAsync(await _admin.PostAsJsonAsync("api/v1/crawl", new { backend = "datasets" }), HttpStatusCode.Accepted))["crawl_id"]!.GetValue<string>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var state = (await GetAsync($"api/v1/crawl/{id}"))["state"]!.GetValue<string>();
            if (state == "done")
            {
                return;
            }

            Assert.That(state, Is.Not.EqualTo("failed"));
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "crawl did not finish");
            await Task.Delay(50);
        }
    }
}
