using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace WarpDrive.ControlPlane.Tests;

/// <summary>The endpoints the dashboard reads, and the dashboard's static files beside the API.</summary>
public abstract partial class GovernanceBehaviourTests
{
    private static DateTimeOffset Today => new(DateTimeOffset.UtcNow.UtcDateTime.Date, TimeSpan.Zero);

    private static object NodeRead(string node, string user, string path, long bytes, bool hit, DateTimeOffset at, long count = 1) => new
    {
        ts = at.ToString("O"),
        node,
        user,
        backend = "datasets",
        path,
        op = "read",
        bytes_read = bytes,
        cache_hit = hit,
        count,
    };

    private static string Escape(DateTimeOffset time) => Uri.EscapeDataString(time.ToString("O"));

    [Test]
    public async Task UsageDailyIsOneRowPerDayAndTeamInDayOrderAcrossPages()
    {
        using (await _admin.PostAsJsonAsync("api/v1/team", new { team = "vision", users = new[] { "alice", "bob" } }))
        {
        }

        var twoDaysAgo = Today.AddDays(-2).AddHours(10);
        await IngestAsync(
            Read("alice", "a", 100, at: twoDaysAgo),
            Read("bob", "b", 50, hit: true, count: 3, at: twoDaysAgo),
            Read("carol", "c", 7, at: twoDaysAgo),
            Read("alice", "a", 1000, hit: true, at: Today.AddDays(-1).AddHours(1)),
            Read("carol", "c", 9, at: Today.AddMinutes(1)));

        var range = $"since={Escape(Today.AddDays(-3))}&until={Escape(DateTimeOffset.UtcNow)}";
        var all = await GetAsync($"api/v1/usage/daily?group_by=team&{range}");
        Assert.That(all["next_cursor"], Is.Null);
        var rows = all["items"]!.AsArray().Select(i => (
            Date: i!["date"]!.GetValue<DateTimeOffset>(), Group: i["group"]!.GetValue<string>(), Bytes: i["bytes_read"]!.GetValue<long>(),
            Reads: i["reads"]!.GetValue<long>(), Hits: i["cache_hits"]!.GetValue<long>())).ToList();
        Assert.That(rows, Is.EqualTo(new[]
        {
            (Today.AddDays(-2), "(none)", 7L, 1L, 0L),
            (Today.AddDays(-2), "vision", 150L, 4L, 3L),
            (Today.AddDays(-1), "vision", 1000L, 1L, 1L),
            (Today, "(none)", 9L, 1L, 0L),
        }));

        // Pages of one follow the same order through their cursors.
        var paged = new List<string>();
        string? cursor = null;
        do
        {
            var page = await GetAsync($"api/v1/usage/daily?group_by=team&{range}&limit=1{(cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}")}");
            paged.AddRange(page["items"]!.AsArray().Select(i => $"{i!["date"]!.GetValue<DateTimeOffset>():yyyy-MM-dd}/{i["group"]!.GetValue<string>()}"));
            cursor = page["next_cursor"]?.GetValue<string>();
        }
        while (cursor is not null);
        Assert.That(paged, Is.EqualTo(rows.Select(r => $"{r.Date:yyyy-MM-dd}/{r.Group}")));

        var byUser = await GetAsync($"api/v1/usage/daily?group_by=user&{range}");
        Assert.That(byUser["items"]!.AsArray().Select(i => i!["group"]!.GetValue<string>()), Is.EqualTo(new[] { "alice", "bob", "carol", "alice", "carol" }));
    }

    [Test]
    public async Task ATeamsUsersAndObjectsAreItsOwnAndPaged()
    {
        await File.WriteAllBytesAsync(Path.Combine(_data, "a.bin"), new byte[10]);
        await File.WriteAllBytesAsync(Path.Combine(_data, "b.bin"), new byte[20]);
        await CrawlAsync();
        using (await _admin.PostAsJsonAsync("api/v1/team", new { team = "vision", users = new[] { "alice", "bob" } }))
        {
        }

        await IngestAsync(Read("alice", "a.bin", 10), Read("bob", "b.bin", 20, hit: true), Read("bob", "a.bin", 10), Read("carol", "b.bin", 20));

        var users = await GetAsync("api/v1/team/vision/users");
        Assert.That(users["items"]!.AsArray().Select(i => (i!["group"]!.GetValue<string>(), i["bytes_read"]!.GetValue<long>(), i["files"]!.GetValue<long>())),
            Is.EqualTo(new[] { ("alice", 10L, 1L), ("bob", 30L, 2L) }));
        var noTeam = await GetAsync($"api/v1/team/{Uri.EscapeDataString("(none)")}/users");
        Assert.That(noTeam["items"]!.AsArray().Select(i => i!["group"]!.GetValue<string>()), Is.EqualTo(new[] { "carol" }));
        var firstUser = await GetAsync("api/v1/team/vision/users?limit=1");
        Assert.That(firstUser["items"]!.AsArray().Select(i => i!["group"]!.GetValue<string>()), Is.EqualTo(new[] { "alice" }));
        var secondUser = await GetAsync($"api/v1/team/vision/users?limit=1&cursor={Uri.EscapeDataString(firstUser["next_cursor"]!.GetValue<string>())}");
        Assert.That(secondUser["items"]!.AsArray().Select(i => i!["group"]!.GetValue<string>()), Is.EqualTo(new[] { "bob" }));
        Assert.That(secondUser["next_cursor"], Is.Null);

        var objects = await GetAsync("api/v1/team/vision/objects?limit=1");
        Assert.That(Paths(objects), Is.EqualTo(new[] { "a.bin" }));
        Assert.That(objects["items"]![0]!["size"]!.GetValue<long>(), Is.EqualTo(10), "the size the crawl indexed");
        var rest = await GetAsync($"api/v1/team/vision/objects?limit=1&cursor={Uri.EscapeDataString(objects["next_cursor"]!.GetValue<string>())}");
        Assert.That(Paths(rest), Is.EqualTo(new[] { "b.bin" }));
        Assert.That(rest["next_cursor"], Is.Null);
        Assert.That((await GetAsync("api/v1/team/nobody/objects"))["items"]!.AsArray(), Is.Empty);
    }

    [Test]
    public async Task TopObjectsAreTheMostBytesReadByAllUsers()
    {
        await IngestAsync(Read("alice", "small", 5), Read("alice", "big", 500), Read("bob", "big", 100, count: 2), Read("bob", "middle", 300));
        var top = await GetAsync("api/v1/top?limit=2");
        Assert.That(top["items"]!.AsArray().Select(i => (i!["path"]!.GetValue<string>(), i["bytes_read"]!.GetValue<long>(), i["reads"]!.GetValue<long>())),
            Is.EqualTo(new[] { ("big", 600L, 3L), ("middle", 300L, 1L) }));
    }

    [Test]
    public async Task NodesReportTheirReadsHitRatioCacheFillAndLastReport()
    {
        var earlier = DateTimeOffset.UtcNow.AddHours(-3);
        var latest = DateTimeOffset.UtcNow.AddMinutes(-2);
        await IngestAsync(
            NodeRead("gpu-1", "alice", "a", 100, hit: false, earlier),
            NodeRead("gpu-1", "alice", "a", 100, hit: true, latest, count: 3),
            NodeRead("gpu-2", "bob", "b", 40, hit: false, earlier),
            NodeRead("gpu-3", "bob", "b", 1, hit: false, DateTimeOffset.UtcNow.AddDays(-20)));

        var nodes = await GetAsync("api/v1/nodes?days=7");
        var rows = nodes["items"]!.AsArray();
        Assert.That(rows.Select(n => n!["node"]!.GetValue<string>()), Is.EqualTo(new[] { "gpu-1", "gpu-2" }), "gpu-3 last reported 20 days ago");
        var gpu1 = rows[0]!;
        Assert.That(gpu1["reads"]!.GetValue<long>(), Is.EqualTo(4));
        Assert.That(gpu1["bytes_read"]!.GetValue<long>(), Is.EqualTo(200));
        Assert.That(gpu1["cache_hit_ratio"]!.GetValue<double>(), Is.EqualTo(0.75).Within(1e-9));
        Assert.That(gpu1["miss_bytes"]!.GetValue<long>(), Is.EqualTo(100));
        Assert.That(gpu1["last_seen"]!.GetValue<DateTimeOffset>(), Is.EqualTo(latest).Within(TimeSpan.FromMilliseconds(1)));
        Assert.That((await GetAsync("api/v1/nodes?days=30"))["items"]!.AsArray(), Has.Count.EqualTo(3));
        var first = await GetAsync("api/v1/nodes?days=30&limit=2");
        Assert.That((await GetAsync($"api/v1/nodes?days=30&limit=2&cursor={Uri.EscapeDataString(first["next_cursor"]!.GetValue<string>())}"))["items"]![0]!["node"]!.GetValue<string>(),
            Is.EqualTo("gpu-3"));
    }

    [Test]
    public async Task StaleNewestFirstAndTheCsvExportFollowTheSameList()
    {
        foreach (var name in new[] { "never.bin", "old.bin", "older.bin", "=cmd,\"x\".bin" })
        {
            await File.WriteAllBytesAsync(Path.Combine(_data, name), new byte[name.Length]);
        }

        await CrawlAsync();
        await IngestAsync(Read("alice", "old.bin", 1, at: DateTimeOffset.UtcNow.AddDays(-100)), Read("alice", "older.bin", 1, at: DateTimeOffset.UtcNow.AddDays(-200)));

        Assert.That(Paths(await GetAsync("api/v1/stale?days=90")), Is.EqualTo(new[] { "never.bin", "=cmd,\"x\".bin", "older.bin", "old.bin" }).Or.EqualTo(new[] { "=cmd,\"x\".bin", "never.bin", "older.bin", "old.bin" }));
        var newest = await GetAsync("api/v1/stale?days=90&order=newest&limit=3");
        Assert.That(Paths(newest).Take(2), Is.EqualTo(new[] { "old.bin", "older.bin" }));
        var rest = await GetAsync($"api/v1/stale?days=90&order=newest&limit=3&cursor={Uri.EscapeDataString(newest["next_cursor"]!.GetValue<string>())}");
        Assert.That(Paths(newest).Concat(Paths(rest)), Is.EquivalentTo(new[] { "never.bin", "=cmd,\"x\".bin", "older.bin", "old.bin" }));
        Assert.That(rest["next_cursor"], Is.Null);

        using var export = await _reader.GetAsync("api/v1/stale/export?days=90");
        Assert.That(export.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(export.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/csv"));
        Assert.That(export.Content.Headers.ContentDisposition?.FileName?.Trim('"'), Is.EqualTo("stale-90d.csv"));
        var lines = (await export.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.That(lines[0], Is.EqualTo("backend,path,size_bytes,last_access,last_modified"));
        var oldest = Paths(await GetAsync("api/v1/stale?days=90"));
        Assert.That(lines.Skip(1).Select(l => l.Split(',')[1]), Is.EqualTo(oldest.Select(p => p.StartsWith('=') ? "\"'=cmd" : p)), "the same rows in the same order");
        Assert.That(lines, Has.Some.StartsWith("datasets,\"'=cmd,\"\"x\"\".bin\",12,,"), "quoted, and defused as a spreadsheet formula");

        using var agentExport = await _agent.GetAsync("api/v1/stale/export");
        Assert.That(agentExport.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        using var anonymousExport = await _anonymous.GetAsync("api/v1/stale/export");
        Assert.That(anonymousExport.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task WhoAmINamesTheTokensHolderAndRole()
    {
        Assert.That((await GetAsync("api/v1/whoami", _admin)).ToJsonString(), Is.EqualTo("""{"name":"ops","role":"admin"}"""));
        Assert.That((await GetAsync("api/v1/whoami", _reader)).ToJsonString(), Is.EqualTo("""{"name":"dashboards","role":"reader"}"""));
        Assert.That((await GetAsync("api/v1/whoami", _agent)).ToJsonString(), Is.EqualTo("""{"name":"node-agents","role":"agent"}"""));
        using var anonymous = await _anonymous.GetAsync("api/v1/whoami");
        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
    }

    [Test]
    public async Task TheDashboardIsServedAtTheRootWithoutATokenAndApiPathsStayJson()
    {
        var dashboard = Directory.CreateDirectory(Path.Combine(_scratch, "dashboard")).FullName;
        Directory.CreateDirectory(Path.Combine(dashboard, "assets"));
        await File.WriteAllTextAsync(Path.Combine(dashboard, "index.html"), "<!doctype html><div id=root></div>");
        await File.WriteAllTextAsync(Path.Combine(dashboard, "assets", "index-abc123.js"), "console.log(1)");
        await RestartWithDashboardAsync(dashboard);

        foreach (var page in new[] { "", "teams", "teams/vision", "stale" })
        {
            using var response = await _anonymous.GetAsync(page);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), page);
            Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("<div id=root>"), page);
            Assert.That(response.Headers.CacheControl?.NoCache, Is.True, $"{page}: index.html is revalidated, so a new build shows at once");
            Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("default-src 'self'"));
        }

        using (var asset = await _anonymous.GetAsync("assets/index-abc123.js"))
        {
            Assert.That(asset.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(asset.Headers.CacheControl?.ToString(), Is.EqualTo("public, max-age=31536000, immutable"));
        }

        using (var api = await _reader.GetAsync("api/v1/no-such-thing"))
        {
            Assert.That(api.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(api.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        }

        using (var missingAsset = await _anonymous.GetAsync("api"))
        {
            Assert.That(missingAsset.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), "/api itself is not a page");
        }

        using (var post = await _anonymous.PostAsync("teams", null))
        {
            Assert.That(post.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        }

        using (var guarded = await _anonymous.GetAsync("api/v1/usage"))
        {
            Assert.That(guarded.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "the API stays guarded beside the open files");
        }

        await RestartWithDashboardAsync(Path.Combine(_scratch, "not-built"));
        using var none = await _anonymous.GetAsync("");
        var problem = await JsonAsync(none, HttpStatusCode.NotFound);
        Assert.That(problem["detail"]!.GetValue<string>(), Does.Contain("hack/dashboard.sh"));
        Assert.That(_host!.ServesDashboard, Is.False);
    }

    private async Task RestartWithDashboardAsync(string directory)
    {
        await StopHostAsync();
        _options = new ControlPlaneOptions
        {
            ListenAddress = _options.ListenAddress,
            Database = _options.Database,
            DatabasePasswordEnvironmentVariable = _options.DatabasePasswordEnvironmentVariable,
            TokensFile = _options.TokensFile,
            NodeConfigPath = _options.NodeConfigPath,
            CrawlInterval = _options.CrawlInterval,
            DashboardDirectory = directory,
        };
        await StartHostAsync();
    }
}
