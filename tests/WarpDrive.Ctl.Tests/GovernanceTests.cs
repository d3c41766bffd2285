using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Telemetry;
using WarpDrive.Telemetry.Sinks;

namespace WarpDrive.Ctl.Tests;

/// <summary>usage, stale, quota and status against a real <c>warpdrive-ctl serve</c> on SQLite, fed by the node's real HTTP telemetry sink.</summary>
public sealed class GovernanceTests
{
    private const int ManyUsers = 1050; // more than one page (the API's page is at most 1000)
    private Sandbox _sandbox = null!;
    private ControlPlaneServer _server = null!;

    [OneTimeSetUp]
    public async Task StartServerAndIngest()
    {
        _sandbox = new Sandbox();
        _sandbox.WriteSource("data/old-a.bin", 5000);
        _sandbox.WriteSource("data/old-b.bin", 70_000);
        _server = await ControlPlaneServer.StartAsync(_sandbox);

        var events = new List<AccessEvent>
        {
            Read("alice", "data/old-a.bin", 1000, hit: true),
            Read("alice", "data/old-a.bin", 3000, hit: false),
            Read("bob", "data/old-b.bin", 500, hit: true),
            Read("carol", "data/old-b.bin", 7, hit: true),
        };
        events.AddRange(Enumerable.Range(0, ManyUsers).Select(i => Read($"user-{i:D4}", "data/old-a.bin", 1, hit: true)));
        await using (var sink = new HttpSink(new HttpSinkOptions(_server.BaseUrl) { TokenFile = _server.AgentTokenFile }))
        {
            await sink.WriteAsync(events, CancellationToken.None);
        }

        await _server.SendAsync(HttpMethod.Post, "/api/v1/team", new { team = "ml", users = new[] { "alice", "bob" } }, _server.AdminTokenFile);
        await _server.SendAsync(HttpMethod.Post, "/api/v1/team", new { team = "vision", users = new[] { "carol" } }, _server.AdminTokenFile);
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        try
        {
            await _server.DisposeAsync();
        }
        finally
        {
            _sandbox.Dispose();
        }
    }

    [Test]
    public async Task UsageByUserFollowsEveryPage()
    {
        var result = await Ctl("usage", "--group-by", "user", "--format", "json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        var items = JsonDocument.Parse(result.Stdout).RootElement.EnumerateArray().ToList();
        var alice = items.Single(i => i.GetProperty("group").GetString() == "alice");
        Assert.Multiple(() =>
        {
            Assert.That(items, Has.Count.EqualTo(ManyUsers + 3));
            Assert.That(alice.GetProperty("bytes_read").GetInt64(), Is.EqualTo(4000));
            Assert.That(alice.GetProperty("reads").GetInt64(), Is.EqualTo(2));
            Assert.That(alice.GetProperty("cache_hit_ratio").GetDouble(), Is.EqualTo(0.5).Within(1e-9));
        });
    }

    [Test]
    public async Task LimitStopsEarly()
    {
        var result = await Ctl("usage", "--group-by", "user", "--limit", "5", "--format", "json");
        Assert.That(JsonDocument.Parse(result.Stdout).RootElement.GetArrayLength(), Is.EqualTo(5), result.ToString());
    }

    [Test]
    public async Task UsageByTeamIsAPlainTable()
    {
        var result = await Ctl("usage", "--group-by", "team");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        var ml = result.Stdout.Split('\n').Single(l => l.TrimStart().StartsWith("ml ", StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(result.Stdout, Does.Contain("TEAM").And.Contain("BYTES READ").And.Contain("HIT RATIO"));
            Assert.That(ml, Does.Contain("4500B").Or.Contain("4.4KiB"), "ml = alice + bob");
            Assert.That(result.Stdout, Does.Not.Contain("\u001b["), "no colour codes in a pipe");
        });
    }

    [Test]
    public async Task QuotaSetThenListAsCsv()
    {
        var set = await Ctl(["quota", "set", "--team", "ml", "--backend", "src", "--soft", "1KiB", "--hard", "2GB"], _server.AdminTokenFile);
        Assert.That(set.ExitCode, Is.Zero, set.ToString());
        Assert.That(set.Stdout, Does.Contain("quota for team ml on src: soft 1KiB, hard 2GiB").Or.Contain("quota for team ml on src: soft 1KiB, hard 2GB"));

        var list = await Ctl("quota", "list", "--format", "csv");

        Assert.That(list.ExitCode, Is.Zero, list.ToString());
        var lines = list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Multiple(() =>
        {
            Assert.That(lines[0], Is.EqualTo("team,backend,soft_bytes,hard_bytes,used_bytes,state"));
            Assert.That(lines.Skip(1).Single(l => l.StartsWith("ml,src,", StringComparison.Ordinal)), Does.StartWith("ml,src,1024,2147483648,"));
        });
    }

    [Test]
    public async Task AQuotaWithOnlyAHardLimitCoversAllBackendsWithASoftLimitOf80Percent()
    {
        var set = await Ctl(["quota", "set", "--team", "research", "--hard", "10TB"], _server.AdminTokenFile);
        Assert.That(set.ExitCode, Is.Zero, set.ToString());
        Assert.That(set.Stdout, Does.Contain("quota for team research on all backends: soft 8TiB, hard 10TiB"));

        var list = await Ctl("quota", "list", "--format", "csv");
        Assert.That(list.Stdout.Split('\n'), Does.Contain("research,*,8796093022208,10995116277760,0,ok"), list.ToString());
    }

    [Test]
    public async Task TheDocumentedStaleAndUsageCommandLinesWork()
    {
        var stale = await Ctl("stale", "--days", "90", "--min-size", "1GB", "--format", "csv");
        var usage = await Ctl("usage", "--group-by", "team", "--format", "table");
        Assert.Multiple(() =>
        {
            Assert.That(stale.ExitCode, Is.Zero, stale.ToString());
            Assert.That(stale.Stdout, Does.StartWith("backend,path,size,last_access,last_modified\n"), "nothing here is 1GB, so the header alone: " + stale);
            Assert.That(usage.ExitCode, Is.Zero, usage.ToString());
            Assert.That(usage.Stdout, Does.Contain("TEAM").And.Contain("vision"), usage.ToString());
        });
    }

    [Test]
    public async Task AReaderMayNotSetQuotas()
    {
        var result = await Ctl(["quota", "set", "--team", "ml", "--backend", "src", "--soft", "1", "--hard", "2"], _server.ReaderTokenFile);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(result.Stderr, Does.Contain("PUT /api/v1/quota: 403").And.Contain("role"));
            Assert.That(result.Stderr, Does.Not.Contain(File.ReadAllText(_server.ReaderTokenFile).Trim()), "the token is never printed");
        });
    }

    [Test]
    public async Task WithoutATokenTheAnswerSaysHowToGiveOne()
    {
        var result = await CtlProcess.RunAsync("usage", "--server", _server.Server);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(result.Stderr, Does.Contain("401").And.Contain("--token-file"));
        });
    }

    [Test]
    public async Task TheTokenFileMayComeFromTheEnvironment()
    {
        await using var ctl = CtlProcess.Start(["quota", "list", "--format", "json"],
            environment: new Dictionary<string, string?> { ["WARPDRIVE_SERVER"] = _server.Server, ["WARPDRIVE_TOKEN_FILE"] = _server.ReaderTokenFile });
        var result = await ctl.WaitAsync();
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(JsonDocument.Parse(result.Stdout).RootElement.ValueKind, Is.EqualTo(JsonValueKind.Array));
    }

    [Test]
    public async Task StaleListsCrawledObjectsNobodyRead()
    {
        await _server.SendAsync(HttpMethod.Post, "/api/v1/crawl", new { backend = "src" }, _server.AdminTokenFile);
        List<JsonElement> items = [];
        for (var attempt = 0; attempt < 100 && items.Count < 2; attempt++)
        {
            var result = await Ctl("stale", "--days", "0", "--backend", "src", "--format", "json");
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            items = [.. JsonDocument.Parse(result.Stdout).RootElement.EnumerateArray()];
            await Task.Delay(100);
        }

        var paths = items.Select(i => i.GetProperty("path").GetString()).ToList();
        Assert.That(paths, Is.SupersetOf(new[] { "data/old-a.bin", "data/old-b.bin" }), "the crawl indexed the source backend");

        var bigOnly = await Ctl("stale", "--days", "0", "--backend", "src", "--min-size", "64KiB", "--format", "json");
        Assert.That(JsonDocument.Parse(bigOnly.Stdout).RootElement.EnumerateArray().Select(i => i.GetProperty("path").GetString()), Is.EqualTo(new[] { "data/old-b.bin" }));
    }

    [Test]
    public async Task StatusReportsTheControlPlaneOkAndAnUnreachableAgentAsFailure()
    {
        var result = await Ctl("status", "--agent", "http://127.0.0.1:1", "--format", "json");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        var rows = JsonDocument.Parse(result.Stdout).RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("component").GetString()!, r => r.GetProperty("status").GetString());
        Assert.That(rows, Is.EqualTo(new Dictionary<string, string> { ["agent"] = "unreachable", ["control-plane"] = "ok" }));
    }

    private Task<CtlResult> Ctl(params string[] args) => Ctl(args, _server.ReaderTokenFile);

    private Task<CtlResult> Ctl(string[] args, string tokenFile) => CtlProcess.RunAsync([.. args, "--server", _server.Server, "--token-file", tokenFile]);

    private static AccessEvent Read(string user, string path, long bytes, bool hit) => new()
    {
        Timestamp = DateTimeOffset.UtcNow.AddMinutes(-5),
        Node = "node-1",
        User = user,
        Backend = "src",
        Path = path,
        Op = AccessOp.Read,
        BytesRead = bytes,
        CacheHit = hit,
        LatencyMs = 1.5,
        Count = 1,
    };
}
