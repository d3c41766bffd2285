using WarpDrive.ControlPlane.Store;

namespace WarpDrive.ControlPlane.Tests;

/// <summary>SQLite in a temp file.</summary>
[TestFixture]
public sealed class SqliteTeamFilesRollupTests : TeamFilesRollupTests
{
    protected override Task<(string Url, string? Password)> CreateDatabaseAsync(string scratch) =>
        Task.FromResult<(string, string?)>(($"sqlite://{Path.Combine(scratch, "control-plane.db")}", null));
}

/// <summary>A throwaway PostgreSQL cluster started by the fixture; one database per test.</summary>
[TestFixture]
public sealed class PostgresTeamFilesRollupTests : TeamFilesRollupTests
{
    private PostgresCluster? _cluster;

    [OneTimeSetUp]
    public async Task StartClusterAsync() => _cluster = await PostgresCluster.StartAsync();

    [OneTimeTearDown]
    public async Task StopClusterAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    protected override async Task<(string Url, string? Password)> CreateDatabaseAsync(string scratch) =>
        (await _cluster!.CreateDatabaseAsync(), _cluster.Password);
}

/// <summary>
/// <c>files</c> of usage by team comes from the <c>team_files</c> rollup (migration 002). These tests drive the store
/// itself on a real engine and check that the rollup answers what the raw reads say, through ingest, team moves,
/// users without a team, backend filters, time windows, and an upgrade of a database written at schema version 1.
/// </summary>
public abstract class TeamFilesRollupTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
    private string _scratch = "";
    private DatabaseTarget _target = null!;
    private string? _password;

    protected abstract Task<(string Url, string? Password)> CreateDatabaseAsync(string scratch);

    [SetUp]
    public async Task CreateAsync()
    {
        _scratch = Directory.CreateTempSubdirectory("wd-cp-rollup-").FullName;
        var (url, password) = await CreateDatabaseAsync(_scratch);
        _target = DatabaseTarget.Parse(url);
        _password = password;
    }

    [TearDown]
    public void DeleteScratch() => Directory.Delete(_scratch, recursive: true);

    private Task<SqlGovernanceStore> OpenAsync() => SqlGovernanceStore.OpenAsync(_target, _password, CancellationToken.None);

    private static AccessEvent Read(string user, string path, DateTimeOffset at, string backend = "b0") => new()
    {
        Ts = at,
        Node = "node-1",
        User = user,
        Backend = backend,
        Path = path,
        Op = "read",
        BytesRead = 10,
        Count = 1,
    };

    private static async Task<Dictionary<string, long>> FilesAsync(SqlGovernanceStore store, string groupBy, string? backend = null, DateTimeOffset? since = null, DateTimeOffset? until = null)
    {
        var page = await store.UsageAsync(groupBy, backend, since ?? Now.AddDays(-30), until ?? Now, 1000, null, CancellationToken.None);
        return page.Items.ToDictionary(i => i.Group, i => i.Files);
    }

    [Test]
    public async Task TeamFilesFollowIngestTeamMovesAndUsersWithoutATeam()
    {
        await using var store = await OpenAsync();
        await store.SetTeamAsync("vision", ["alice", "bob"], CancellationToken.None);
        await store.SetTeamAsync("nlp", ["carol"], CancellationToken.None);
        var t = Now.AddHours(-1);
        await store.IngestAsync(
            [Read("alice", "a", t), Read("alice", "b", t), Read("bob", "b", t), Read("bob", "c", t), Read("carol", "c", t), Read("dave", "a", t), Read("dave", "d", t)],
            null, CancellationToken.None);
        Assert.That(await FilesAsync(store, "team"), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 3, ["nlp"] = 1, ["(none)"] = 2 }));

        await store.IngestAsync([Read("bob", "e", t), Read("erin", "a", t)], null, CancellationToken.None);
        Assert.That(await FilesAsync(store, "team"), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 4, ["nlp"] = 1, ["(none)"] = 2 }),
            "a second batch adds bob's new file; erin (no team) read a file (none) already had");

        await store.SetTeamAsync("nlp", ["carol", "bob"], CancellationToken.None);
        Assert.That(await FilesAsync(store, "team"), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 2, ["nlp"] = 3, ["(none)"] = 2 }),
            "bob's files (b, c, e) move to nlp; vision keeps alice's a and b");

        await store.SetTeamAsync("nlp", ["carol"], CancellationToken.None);
        Assert.That(await FilesAsync(store, "team"), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 2, ["nlp"] = 1, ["(none)"] = 5 }),
            "bob dropped out of nlp into (none): a, d of dave/erin plus bob's b, c, e");

        await store.SetTeamAsync("ops", ["dave", "erin", "bob"], CancellationToken.None);
        Assert.That(await FilesAsync(store, "team"), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 2, ["nlp"] = 1, ["ops"] = 5 }),
            "everyone left (none), so it has no files and no usage rows");

        await store.IngestAsync([Read("frank", "z", t)], null, CancellationToken.None);
        Assert.That((await FilesAsync(store, "team"))["(none)"], Is.EqualTo(1));
        Assert.That(await FilesAsync(store, "user"), Is.EqualTo(new Dictionary<string, long>
        {
            ["alice"] = 2, ["bob"] = 3, ["carol"] = 1, ["dave"] = 2, ["erin"] = 1, ["frank"] = 1,
        }));
    }

    [Test]
    public async Task TeamFilesHonourTheBackendFilterAndTheTimeWindow()
    {
        await using var store = await OpenAsync();
        await store.SetTeamAsync("vision", ["alice", "bob"], CancellationToken.None);
        await store.IngestAsync(
            [
                Read("alice", "a", Now.AddDays(-40)),
                Read("alice", "b", Now.AddDays(-40), backend: "b1"),
                Read("alice", "c", Now.AddDays(-2)),
                Read("bob", "a", Now.AddDays(-1)),
                Read("bob", "d", Now.AddDays(-45), backend: "b1"),
            ],
            null, CancellationToken.None);

        Assert.That(await FilesAsync(store, "team"), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 2 }), "a and c were last read in the last 30 days");
        Assert.That(await FilesAsync(store, "team", since: Now.AddDays(-60)), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 4 }));
        Assert.That(await FilesAsync(store, "team", backend: "b1", since: Now.AddDays(-60)), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 2 }));
        Assert.That(await FilesAsync(store, "team", backend: "b0", since: Now.AddDays(-60)), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 2 }));
        Assert.That(await FilesAsync(store, "team", since: Now.AddDays(-50), until: Now.AddDays(-35)), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 2 }),
            "b and d were last read by the team 40 and 45 days ago; a was read again by bob yesterday, so its last read is not in this window");
        Assert.That((await FilesAsync(store, "user", since: Now.AddDays(-50), until: Now.AddDays(-35)))["alice"], Is.EqualTo(2),
            "alice's own last read of a lies in the window");
    }

    /// <summary>
    /// Random batches and random team changes, each followed by a comparison of every group's <c>files</c> with the
    /// same count worked out from the raw reads (last read per user and object, grouped by current team).
    /// </summary>
    [Test]
    public async Task TeamFilesAgreeWithTheRawReadsThroughRandomBatchesAndTeamChanges()
    {
        await using var store = await OpenAsync();
        var random = new Random(7);
        var users = Enumerable.Range(0, 10).Select(i => $"u{i}").ToArray();
        var teamOf = new Dictionary<string, string>();
        var lastRead = new Dictionary<(string User, string Backend, string Path), long>();
        var windows = new (DateTimeOffset Since, DateTimeOffset Until)[] { (Now.AddDays(-30), Now), (Now.AddDays(-20), Now.AddDays(-5)), (Now.AddDays(-60), Now) };

        for (var round = 0; round < 8; round++)
        {
            var batch = new List<AccessEvent>();
            for (var e = 0; e < 40; e++)
            {
                var read = Read(users[random.Next(users.Length)], $"p{random.Next(15)}", Now.AddMilliseconds(-random.NextInt64(60L * 86_400_000)), $"b{random.Next(2)}");
                batch.Add(read);
                var key = (read.User!, read.Backend!, read.Path!);
                lastRead[key] = Math.Max(lastRead.GetValueOrDefault(key), read.Ts!.Value.ToUnixTimeMilliseconds());
            }

            await store.IngestAsync(batch, null, CancellationToken.None);
            var team = $"t{random.Next(3)}";
            var members = users.Where(_ => random.Next(4) == 0).ToList();
            await store.SetTeamAsync(team, members, CancellationToken.None);
            foreach (var user in teamOf.Where(m => m.Value == team).Select(m => m.Key).ToList())
            {
                teamOf.Remove(user);
            }

            members.ForEach(u => teamOf[u] = team);

            foreach (var (since, until) in windows)
            {
                foreach (var backend in new[] { null, "b1" })
                {
                    var expected = lastRead
                        .Where(r => backend is null || r.Key.Backend == backend)
                        .GroupBy(r => (Team: teamOf.GetValueOrDefault(r.Key.User, "(none)"), r.Key.Backend, r.Key.Path), r => r.Value)
                        .Where(g => g.Max() >= since.ToUnixTimeMilliseconds() && g.Max() <= until.ToUnixTimeMilliseconds())
                        .GroupBy(g => g.Key.Team)
                        .ToDictionary(g => g.Key, g => (long)g.Count());
                    var actual = (await FilesAsync(store, "team", backend, since, until)).Where(g => g.Value > 0).ToDictionary();
                    Assert.That(actual, Is.EquivalentTo(expected), $"round {round}, window {since:O}..{until:O}, backend {backend ?? "(all)"}");
                }
            }
        }
    }

    [Test]
    public async Task AnUpgradeFromSchemaVersionOneBackFillsTeamFiles()
    {
        var t = Now.AddHours(-1).ToUnixTimeMilliseconds();
        await using (var engine = _target.Engine == DatabaseTarget.Sqlite ? (IDatabaseEngine)new SqliteEngine(_target.SqlitePath) : new PostgresEngine(_target, _password))
        {
            Assert.That(await SchemaMigrator.MigrateAsync(engine, CancellationToken.None, targetVersion: 1), Is.EqualTo(1));
            await using var connection = await engine.OpenAsync(CancellationToken.None);
            foreach (var (user, team) in new[] { ("alice", "vision"), ("bob", "vision") })
            {
                await using var member = connection.Command("INSERT INTO team_members (user_name, team) VALUES (@u, @t)").Text("@u", user).Text("@t", team);
                await member.ExecuteNonQueryAsync();
            }

            foreach (var (user, path, at) in new[] { ("alice", "a", t), ("bob", "a", t - 1000), ("bob", "b", t), ("carol", "c", t), ("carol", "a", t) })
            {
                await using var file = connection.Command(
                    "INSERT INTO user_files (user_name, backend, path, reads, bytes_read, last_access) VALUES (@u, 'b0', @p, 1, 10, @a)")
                    .Text("@u", user).Text("@p", path).Int("@a", at);
                await file.ExecuteNonQueryAsync();
                await using var daily = connection.Command(
                    """
                    INSERT INTO access_daily (day, user_name, backend, reads, bytes_read, cache_hits, miss_bytes) VALUES (@d, @u, 'b0', 1, 10, 0, 10)
                    ON CONFLICT (day, user_name, backend) DO UPDATE SET reads = access_daily.reads + 1
                    """).Int("@d", at / 86_400_000).Text("@u", user);
                await daily.ExecuteNonQueryAsync();
            }
        }

        await using var store = await OpenAsync();
        Assert.That(await FilesAsync(store, "team"), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 2, ["(none)"] = 2 }),
            "version 1 rows were folded into team_files by migration 002");

        await store.IngestAsync([Read("carol", "d", Now.AddMinutes(-1)), Read("alice", "b", Now.AddMinutes(-1))], null, CancellationToken.None);
        await store.SetTeamAsync("vision", ["alice", "bob", "carol"], CancellationToken.None);
        Assert.That(await FilesAsync(store, "team"), Is.EqualTo(new Dictionary<string, long> { ["vision"] = 4 }));
    }
}
