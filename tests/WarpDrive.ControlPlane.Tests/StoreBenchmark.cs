using System.Diagnostics;
using WarpDrive.ControlPlane.Store;

namespace WarpDrive.ControlPlane.Tests;

/// <summary>
/// Fills a SQLite (or, with --postgres, a throwaway PostgreSQL) store the way the crawler and the node agents do (crawl pages of 10,000 objects over 4 backends,
/// then access batches from 1,000 users over 90 days), and prints how long stale and usage answers take.
/// A tool for the README's figures, not a test: nothing here asserts a time.
/// </summary>
internal static class StoreBenchmark
{
    private const int Backends = 4;
    private const int Page = 10_000;

    /// <param name="postgres">Run against a throwaway PostgreSQL cluster (<see cref="PostgresCluster"/>) instead of SQLite.</param>
    public static async Task RunAsync(long objects, string? file, bool postgres)
    {
        var scratch = file is null && !postgres ? Directory.CreateTempSubdirectory("wd-cp-bench-").FullName : null;
        var path = file ?? (scratch is null ? "" : Path.Combine(scratch, "bench.db"));
        await using var cluster = postgres ? await PostgresCluster.StartAsync() : null;
        try
        {
            var target = cluster is null ? DatabaseTarget.Parse($"sqlite://{path}") : DatabaseTarget.Parse(await cluster.CreateDatabaseAsync());
            await using var store = await SqlGovernanceStore.OpenAsync(target, cluster?.Password, CancellationToken.None);
            Console.WriteLine($"engine {store.Engine}, {objects:N0} objects");
            var random = new Random(42);
            var now = DateTimeOffset.UtcNow;
            var clock = Stopwatch.StartNew();
            var perBackend = objects / Backends;
            for (var b = 0; b < Backends; b++)
            {
                var backend = $"backend-{b}";
                await store.RegisterBackendAsync(backend, "s3", CancellationToken.None);
                var crawl = await store.BeginCrawlAsync($"bench-{b}", backend, CancellationToken.None);
                var page = new List<(string, long, string, DateTimeOffset)>(Page);
                for (long i = 0; i < perBackend; i++)
                {
                    page.Add(($"shard-{i % 1000:D4}/object-{i:D9}.bin", random.NextInt64(1, 1L << 30), $"\"{i:x}\"", now.AddDays(-random.Next(0, 720))));
                    if (page.Count == Page)
                    {
                        await store.RecordCrawledAsync(backend, crawl, page, CancellationToken.None);
                        page.Clear();
                    }
                }

                await store.RecordCrawledAsync(backend, crawl, page, CancellationToken.None);
                var finish = Stopwatch.StartNew();
                await store.FinishCrawlAsync(backend, crawl, CancellationToken.None);
                Console.WriteLine($"crawl {backend}: {perBackend:N0} objects indexed (finish: {finish.Elapsed.TotalSeconds:F1} s)");
            }

            Console.WriteLine($"indexed {objects:N0} objects in {clock.Elapsed.TotalSeconds:F0} s ({objects / clock.Elapsed.TotalSeconds:N0}/s)");

            clock.Restart();
            const int batches = 40;
            const int perBatch = 5_000;
            for (var n = 0; n < batches; n++)
            {
                var events = new List<AccessEvent>(perBatch);
                for (var e = 0; e < perBatch; e++)
                {
                    var i = random.NextInt64(0, perBackend);
                    events.Add(new AccessEvent
                    {
                        Ts = now.AddMinutes(-random.Next(0, 90 * 24 * 60)),
                        Node = $"node-{e % 8}",
                        User = $"user-{random.Next(0, 1000):D4}",
                        Backend = $"backend-{random.Next(0, Backends)}",
                        Path = $"shard-{i % 1000:D4}/object-{i:D9}.bin",
                        Op = "read",
                        BytesRead = random.Next(1, 1 << 20),
                        CacheHit = random.Next(0, 2) == 0,
                        Count = random.Next(1, 4),
                    });
                }

                await store.IngestAsync(events, null, CancellationToken.None);
            }

            Console.WriteLine($"ingested {batches * perBatch:N0} access events in {clock.Elapsed.TotalSeconds:F1} s ({batches * perBatch / clock.Elapsed.TotalSeconds:N0}/s)");
            clock.Restart();
            for (var t = 0; t < 50; t++)
            {
                await store.SetTeamAsync($"team-{t:D2}", Enumerable.Range(t * 20, 20).Select(u => $"user-{u:D4}").ToList(), CancellationToken.None);
            }

            Console.WriteLine($"50 teams of 20 users set (each takes 20 users out of (none)) in {clock.Elapsed.TotalSeconds:F1} s");
            await Time("SetTeam x2: a user moves team-01 -> team-00 and back (two named teams rebuilt each)",
                async () =>
                {
                    await store.SetTeamAsync("team-00", Enumerable.Range(0, 21).Select(u => $"user-{u:D4}").ToList(), CancellationToken.None);
                    await store.SetTeamAsync("team-01", Enumerable.Range(20, 20).Select(u => $"user-{u:D4}").ToList(), CancellationToken.None);
                    return 0;
                });
            await Time("SetTeam x2: a user drops to (none) and back (the way back recounts its objects for (none))",
                async () =>
                {
                    await store.SetTeamAsync("team-00", Enumerable.Range(1, 19).Select(u => $"user-{u:D4}").ToList(), CancellationToken.None);
                    await store.SetTeamAsync("team-00", Enumerable.Range(0, 20).Select(u => $"user-{u:D4}").ToList(), CancellationToken.None);
                    return 0;
                });
            await Time("stale days=90, first page of 100", () => store.StaleAsync(now.AddDays(-90), 0, null, 100, null, CancellationToken.None));
            await Time("stale days=90 backend=backend-2, first page of 100",
                () => store.StaleAsync(now.AddDays(-90), 0, "backend-2", 100, null, CancellationToken.None));
            await Time("stale days=90 min_size=512MiB, first page of 100",
                () => store.StaleAsync(now.AddDays(-90), 512L << 20, null, 100, null, CancellationToken.None));
            await Time("stale days=90 backend=backend-2 min_size=512MiB, first page of 100",
                () => store.StaleAsync(now.AddDays(-90), 512L << 20, "backend-2", 100, null, CancellationToken.None));
            await Time("stale days=90, 50th page of 1000 (keyset cursor)", async () =>
            {
                string? cursor = null;
                Page<StaleObject> page = null!;
                for (var p = 0; p < 50; p++)
                {
                    page = await store.StaleAsync(now.AddDays(-90), 0, null, 1000, cursor, CancellationToken.None);
                    cursor = page.NextCursor;
                }

                return page;
            }, runs: 1);
            await Time("usage group_by=user, 30 days, first page of 100", () => store.UsageAsync("user", null, now.AddDays(-30), now, 100, null, CancellationToken.None));
            await Time("usage group_by=team, 30 days, all 50 groups", () => store.UsageAsync("team", null, now.AddDays(-30), now, 1000, null, CancellationToken.None));
            await Time("usage group_by=user backend=backend-1, 90 days", () => store.UsageAsync("user", "backend-1", now.AddDays(-90), now, 100, null, CancellationToken.None));
            await Time("usage group_by=team backend=backend-1, 90 days, all 50 groups", () => store.UsageAsync("team", "backend-1", now.AddDays(-90), now, 1000, null, CancellationToken.None));
            if (cluster is not null)
            {
                // The figures above follow the team changes at once, before autovacuum has run; these show the steady state.
                await VacuumAsync(target, cluster.Password);
                await Time("after VACUUM ANALYZE: usage group_by=team, 30 days, all 50 groups",
                    () => store.UsageAsync("team", null, now.AddDays(-30), now, 1000, null, CancellationToken.None));
                await Time("after VACUUM ANALYZE: usage group_by=team backend=backend-1, 90 days, all 50 groups",
                    () => store.UsageAsync("team", "backend-1", now.AddDays(-90), now, 1000, null, CancellationToken.None));
            }

            await Time("growth, 30 days", () => store.GrowthAsync(null, now.AddDays(-30), 100, null, CancellationToken.None));
            // What the dashboard's pages ask (dashboard/README.md).
            await Time("dashboard: usage/daily group_by=team, 90 days, every page of 1000", async () =>
            {
                var rows = 0;
                string? cursor = null;
                do
                {
                    var page = await store.UsageDailyAsync("team", null, now.AddDays(-90), now, 1000, cursor, CancellationToken.None);
                    rows += page.Items.Count;
                    cursor = page.NextCursor;
                }
                while (cursor is not null);
                return rows;
            });
            await Time("dashboard: stale days=90 newest first, first page of 50", () => store.StaleAsync(now.AddDays(-90), 0, null, newestFirst: true, 50, null, CancellationToken.None));
            await Time("dashboard: team-00 users, 30 days, page of 20", () => store.TeamUsersAsync("team-00", null, now.AddDays(-30), now, 20, null, CancellationToken.None));
            await Time("dashboard: team-00 objects, first page of 20", () => store.TeamObjectsAsync("team-00", 20, null, CancellationToken.None));
            await Time("dashboard: top 10 objects by bytes read", () => store.TopObjectsAsync(10, CancellationToken.None));
            await Time("dashboard: nodes, 7 days", () => store.NodesAsync(now.AddDays(-7), 50, null, CancellationToken.None));
            if (cluster is null)
            {
                var wal = new FileInfo(path + "-wal");
                Console.WriteLine($"database file: {new FileInfo(path).Length / (1 << 20):N0} MiB (+ WAL {(wal.Exists ? wal.Length / (1 << 20) : 0):N0} MiB)");
            }
        }
        finally
        {
            if (scratch is not null)
            {
                Directory.Delete(scratch, recursive: true);
            }
        }
    }

    private static async Task VacuumAsync(DatabaseTarget target, string password)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder
        {
            Host = target.Host, Port = target.Port, Username = target.User, Database = target.Database, Password = password,
        };
        await using var connection = new Npgsql.NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        await using var vacuum = new Npgsql.NpgsqlCommand("VACUUM ANALYZE", connection);
        await vacuum.ExecuteNonQueryAsync();
    }

    private static async Task Time<T>(string what, Func<Task<T>> query, int runs = 5)
    {
        await query(); // warm the page cache and the statement cache
        var times = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            var clock = Stopwatch.StartNew();
            await query();
            times.Add(clock.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        Console.WriteLine($"{what}: median {times[times.Count / 2]:F1} ms over {runs} runs");
    }
}
