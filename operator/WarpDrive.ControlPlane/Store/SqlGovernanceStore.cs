using System.Data.Common;
using System.Globalization;

namespace WarpDrive.ControlPlane.Store;

/// <summary>
/// <see cref="IGovernanceStore"/> over plain ADO.NET. The SQL is the same on SQLite and PostgreSQL (both speak
/// <c>INSERT … ON CONFLICT … DO UPDATE</c>, row values, partial indexes and <c>RETURNING</c>); the few spellings
/// that differ come from <see cref="IDatabaseEngine"/>. Every statement is constant text with typed parameters.
/// </summary>
public sealed class SqlGovernanceStore : IGovernanceStore
{
    private const long DayMs = 86_400_000;
    private const string NoTeam = "(none)";
    private readonly IDatabaseEngine _engine;

    private SqlGovernanceStore(IDatabaseEngine engine) => _engine = engine;

    /// <summary>The engine name, "sqlite" or "postgres".</summary>
    public string Engine => _engine.Name;

    /// <summary>Opens the database named by <paramref name="target"/> and migrates its schema.</summary>
    public static async Task<SqlGovernanceStore> OpenAsync(DatabaseTarget target, string? password, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(target);
        IDatabaseEngine engine = target.Engine == DatabaseTarget.Sqlite ? new SqliteEngine(target.SqlitePath) : new PostgresEngine(target, password);
        try
        {
            await SchemaMigrator.MigrateAsync(engine, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await engine.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new SqlGovernanceStore(engine);
    }

    public ValueTask DisposeAsync() => _engine.DisposeAsync();

    public async Task PingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("SELECT count(*) FROM schema_version");
        await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task RegisterBackendAsync(string name, string type, CancellationToken cancellationToken)
    {
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(
            "INSERT INTO backends (name, type) VALUES (@n, @t) ON CONFLICT (name) DO UPDATE SET type = excluded.type").Text("@n", name).Text("@t", type);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<IngestResult> IngestAsync(IReadOnlyList<AccessEvent> events, string? idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);

        // Fold the batch first: one statement per (day, user, backend) and per object instead of one per event.
        var daily = new Dictionary<(long Day, string User, string Backend), (long Reads, long Bytes, long Hits, long MissBytes)>();
        var files = new Dictionary<(string User, string Backend, string Path), (long Reads, long Bytes, long Last)>();
        var objects = new Dictionary<(string Backend, string Path), long>();
        var nodes = new Dictionary<(long Day, string Node), (long Reads, long Bytes, long Hits, long MissBytes, long LastSeen)>();
        foreach (var e in events)
        {
            var ts = e.Ts!.Value.ToUnixTimeMilliseconds();
            var count = e.Count ?? 1;
            var reads = e.Op == "read" ? count : 0;
            var key = (Math.DivRem(ts, DayMs).Quotient, e.User!, e.Backend!);
            var d = daily.GetValueOrDefault(key);
            daily[key] = (d.Reads + reads, d.Bytes + e.BytesRead, d.Hits + (e.CacheHit ? reads : 0), d.MissBytes + (e.CacheHit ? 0 : e.BytesRead));
            if (!string.IsNullOrEmpty(e.Node))
            {
                var nodeKey = (key.Item1, e.Node);
                var n = nodes.GetValueOrDefault(nodeKey);
                nodes[nodeKey] = (n.Reads + reads, n.Bytes + e.BytesRead, n.Hits + (e.CacheHit ? reads : 0), n.MissBytes + (e.CacheHit ? 0 : e.BytesRead), Math.Max(n.LastSeen, ts));
            }

            if (e.Op is "read" or "open")
            {
                var f = files.GetValueOrDefault((e.User!, e.Backend!, e.Path!));
                files[(e.User!, e.Backend!, e.Path!)] = (f.Reads + reads, f.Bytes + e.BytesRead, Math.Max(f.Last, ts));
                objects[(e.Backend!, e.Path!)] = Math.Max(objects.GetValueOrDefault((e.Backend!, e.Path!)), ts);
            }
        }

        var backends = events.Select(e => e.Backend!).ToHashSet(StringComparer.Ordinal);
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, _engine.TeamsReadLockSql, cancellationToken).ConfigureAwait(false);
        if (idempotencyKey is not null)
        {
            await using var claim = connection.Command(
                "INSERT INTO ingest_batches (idempotency_key, received_at, accepted) VALUES (@k, @t, @a) ON CONFLICT (idempotency_key) DO NOTHING", transaction)
                .Text("@k", idempotencyKey).Int("@t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).Int("@a", events.Count);
            if (await claim.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            {
                await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
                await using var first = connection.Command("SELECT accepted FROM ingest_batches WHERE idempotency_key = @k").Text("@k", idempotencyKey);
                return new IngestResult((int)await first.ScalarLongAsync(cancellationToken).ConfigureAwait(false), Replayed: true, []);
            }
        }

        await using (var upsert = connection.Command(
            """
            INSERT INTO access_daily (day, user_name, backend, reads, bytes_read, cache_hits, miss_bytes) VALUES (@d, @u, @b, @r, @by, @h, @m)
            ON CONFLICT (day, user_name, backend) DO UPDATE SET reads = access_daily.reads + excluded.reads,
              bytes_read = access_daily.bytes_read + excluded.bytes_read, cache_hits = access_daily.cache_hits + excluded.cache_hits,
              miss_bytes = access_daily.miss_bytes + excluded.miss_bytes
            """, transaction).Int("@d", 0).Text("@u", "").Text("@b", "").Int("@r", 0).Int("@by", 0).Int("@h", 0).Int("@m", 0))
        {
            foreach (var ((day, user, backend), v) in daily)
            {
                upsert.Set("@d", day);
                upsert.Set("@u", user);
                upsert.Set("@b", backend);
                upsert.Set("@r", v.Reads);
                upsert.Set("@by", v.Bytes);
                upsert.Set("@h", v.Hits);
                upsert.Set("@m", v.MissBytes);
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await using (var upsert = connection.Command(
            $"""
            INSERT INTO user_files (user_name, backend, path, reads, bytes_read, last_access) VALUES (@u, @b, @p, @r, @by, @t)
            ON CONFLICT (user_name, backend, path) DO UPDATE SET reads = user_files.reads + excluded.reads,
              bytes_read = user_files.bytes_read + excluded.bytes_read, last_access = {_engine.Greatest}(user_files.last_access, excluded.last_access)
            """, transaction).Text("@u", "").Text("@b", "").Text("@p", "").Int("@r", 0).Int("@by", 0).Int("@t", 0))
        {
            foreach (var ((user, backend, path), v) in files)
            {
                upsert.Set("@u", user);
                upsert.Set("@b", backend);
                upsert.Set("@p", path);
                upsert.Set("@r", v.Reads);
                upsert.Set("@by", v.Bytes);
                upsert.Set("@t", v.Last);
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await using (var upsert = connection.Command(
            $"""
            INSERT INTO node_daily (day, node, reads, bytes_read, cache_hits, miss_bytes, last_seen) VALUES (@d, @n, @r, @by, @h, @m, @t)
            ON CONFLICT (day, node) DO UPDATE SET reads = node_daily.reads + excluded.reads, bytes_read = node_daily.bytes_read + excluded.bytes_read,
              cache_hits = node_daily.cache_hits + excluded.cache_hits, miss_bytes = node_daily.miss_bytes + excluded.miss_bytes,
              last_seen = {_engine.Greatest}(node_daily.last_seen, excluded.last_seen)
            """, transaction).Int("@d", 0).Text("@n", "").Int("@r", 0).Int("@by", 0).Int("@h", 0).Int("@m", 0).Int("@t", 0))
        {
            foreach (var ((day, node), v) in nodes)
            {
                upsert.Set("@d", day);
                upsert.Set("@n", node);
                upsert.Set("@r", v.Reads);
                upsert.Set("@by", v.Bytes);
                upsert.Set("@h", v.Hits);
                upsert.Set("@m", v.MissBytes);
                upsert.Set("@t", v.LastSeen);
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        // The same reads folded per team (users without one under NoTeam), so usage by team counts an index range.
        var teams = await TeamsOfAsync(connection, transaction, files.Keys.Select(k => k.User).ToHashSet(StringComparer.Ordinal), cancellationToken)
            .ConfigureAwait(false);
        var teamFiles = new Dictionary<(string Team, string Backend, string Path), long>();
        foreach (var ((user, backend, path), v) in files)
        {
            var key = (teams.GetValueOrDefault(user, NoTeam), backend, path);
            teamFiles[key] = Math.Max(teamFiles.GetValueOrDefault(key), v.Last);
        }

        await using (var upsert = connection.Command(
            $"""
            INSERT INTO team_files (team, backend, path, last_access) VALUES (@t, @b, @p, @a)
            ON CONFLICT (team, backend, path) DO UPDATE SET last_access = {_engine.Greatest}(team_files.last_access, excluded.last_access)
            """, transaction).Text("@t", "").Text("@b", "").Text("@p", "").Int("@a", 0))
        {
            foreach (var ((team, backend, path), last) in teamFiles)
            {
                upsert.Set("@t", team);
                upsert.Set("@b", backend);
                upsert.Set("@p", path);
                upsert.Set("@a", last);
                await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        // An object read before any crawl indexed it gets a placeholder row, so its last access is not lost;
        // the next crawl fills in its size (or marks it deleted if the backend does not have it).
        await using (var touch = connection.Command(
            $"""
            INSERT INTO objects (backend, path, size, etag, last_modified, last_access) VALUES (@b, @p, 0, '', 0, @t)
            ON CONFLICT (backend, path) DO UPDATE SET last_access = {_engine.Greatest}(objects.last_access, excluded.last_access)
            """, transaction).Text("@b", "").Text("@p", "").Int("@t", 0))
        {
            foreach (var ((backend, path), last) in objects)
            {
                touch.Set("@b", backend);
                touch.Set("@p", path);
                touch.Set("@t", last);
                await touch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new IngestResult(events.Count, Replayed: false, backends);
    }

    public async Task SetTeamAsync(string team, IReadOnlyList<string> users, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(users);
        var members = users.Distinct(StringComparer.Ordinal).ToList();
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, _engine.TeamsWriteLockSql, cancellationToken).ConfigureAwait(false);

        // Who moves where decides which team_files rollups change: the new members' old teams lose them, the team
        // gains them, and its dropped members fall back to NoTeam.
        var previous = await TeamsOfAsync(connection, transaction, members, cancellationToken).ConfigureAwait(false);
        var dropped = new List<string>();
        await using (var current = connection.Command("SELECT user_name FROM team_members WHERE team = @t", transaction).Text("@t", team))
        {
            await using var reader = await current.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                dropped.Add(reader.GetString(0));
            }
        }

        dropped.RemoveAll(members.Contains);
        await using (var clear = connection.Command("DELETE FROM team_members WHERE team = @t", transaction).Text("@t", team))
        {
            await clear.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using (var add = connection.Command(
            "INSERT INTO team_members (user_name, team) VALUES (@u, @t) ON CONFLICT (user_name) DO UPDATE SET team = excluded.team", transaction)
            .Text("@u", "").Text("@t", team))
        {
            foreach (var user in members)
            {
                add.Set("@u", user);
                await add.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        // Named teams are rebuilt through their member lists. NoTeam has no member list, so it is patched instead:
        // users joining it add their reads (greatest wins, as in ingest); for users leaving it, only the objects they
        // read are recomputed from the users still without a team (user_files by object, index user_files_object).
        var rebuild = new SortedSet<string>(StringComparer.Ordinal) { team };
        rebuild.UnionWith(previous.Values);
        foreach (var changed in rebuild)
        {
            await RebuildTeamFilesAsync(connection, transaction, changed, cancellationToken).ConfigureAwait(false);
        }

        await using (var join = connection.Command(
            $"""
            INSERT INTO team_files (team, backend, path, last_access) SELECT @t, backend, path, last_access FROM user_files WHERE user_name = @u
            ON CONFLICT (team, backend, path) DO UPDATE SET last_access = {_engine.Greatest}(team_files.last_access, excluded.last_access)
            """, transaction).Text("@t", NoTeam).Text("@u", ""))
        {
            foreach (var user in dropped)
            {
                join.Set("@u", user);
                await join.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await using (var forget = connection.Command(
            "DELETE FROM team_files WHERE team = @t AND (backend, path) IN (SELECT backend, path FROM user_files WHERE user_name = @u)", transaction)
            .Text("@t", NoTeam).Text("@u", ""))
        await using (var recount = connection.Command(
            """
            INSERT INTO team_files (team, backend, path, last_access)
            SELECT @t, o.backend, o.path, max(o.last_access) FROM user_files m JOIN user_files o ON o.backend = m.backend AND o.path = m.path
            WHERE m.user_name = @u AND NOT EXISTS (SELECT 1 FROM team_members t WHERE t.user_name = o.user_name)
            GROUP BY o.backend, o.path
            """, transaction).Text("@t", NoTeam).Text("@u", ""))
        {
            foreach (var user in members.Where(u => !previous.ContainsKey(u)))
            {
                forget.Set("@u", user);
                await forget.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                recount.Set("@u", user);
                await recount.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await ExecuteAsync(connection, transaction, _engine.TeamFilesStatisticsSql, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Recomputes one named team's rows of the team_files rollup from its members' user_files.</summary>
    private static async Task RebuildTeamFilesAsync(DbConnection connection, DbTransaction transaction, string team, CancellationToken cancellationToken)
    {
        await using (var clear = connection.Command("DELETE FROM team_files WHERE team = @t", transaction).Text("@t", team))
        {
            await clear.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await using var fill = connection.Command(
            """
            INSERT INTO team_files (team, backend, path, last_access)
            SELECT @t, f.backend, f.path, max(f.last_access) FROM team_members m JOIN user_files f ON f.user_name = m.user_name
            WHERE m.team = @t GROUP BY f.backend, f.path
            """, transaction).Text("@t", team);
        await fill.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The team of each of <paramref name="users"/> that has one, looked up in chunks of parameters.</summary>
    private static async Task<Dictionary<string, string>> TeamsOfAsync(DbConnection connection, DbTransaction transaction, IReadOnlyCollection<string> users, CancellationToken cancellationToken)
    {
        const int chunk = 200;
        var teams = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in users.Chunk(chunk))
        {
            var names = string.Join(", ", Enumerable.Range(0, part.Length).Select(i => $"@u{Invariant(i)}"));
            await using var command = connection.Command($"SELECT user_name, team FROM team_members WHERE user_name IN ({names})", transaction);
            for (var i = 0; i < part.Length; i++)
            {
                command.Text($"@u{Invariant(i)}", part[i]);
            }

            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                teams[reader.GetString(0)] = reader.GetString(1);
            }
        }

        return teams;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        if (sql.Length > 0)
        {
            await using var command = connection.Command(sql, transaction);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<Page<UsageRow>> UsageAsync(string groupBy, string? backend, DateTimeOffset since, DateTimeOffset until, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var after = Cursor.Decode(cursor, 1)?[0] ?? "";
        var byTeam = groupBy == "team";
        var group = byTeam ? $"coalesce(t.team, '{NoTeam}')" : "a.user_name";
        var join = byTeam ? "LEFT JOIN team_members t ON t.user_name = a.user_name" : "";

        // files of each group on the page is one index range (team_files or user_files by (group, last_access,
        // backend)), counted in the same statement: the cost follows the page's rows, not the size of user_files.
        var files = byTeam ? "team_files f WHERE f.team = g.grp" : "user_files f WHERE f.user_name = g.grp";
        var sql = $"""
            SELECT g.grp, g.bytes, g.reads, g.hits,
              (SELECT count(*) FROM {files} AND f.last_access >= @s AND f.last_access <= @e {(backend is null ? "" : "AND f.backend = @b")})
            FROM (
              SELECT {group} AS grp, CAST(sum(a.bytes_read) AS BIGINT) AS bytes, CAST(sum(a.reads) AS BIGINT) AS reads, CAST(sum(a.cache_hits) AS BIGINT) AS hits
              FROM access_daily a {join}
              WHERE a.day >= @d0 AND a.day <= @d1 {(backend is null ? "" : "AND a.backend = @b")}
              GROUP BY {group}
              HAVING {group} > @after
              ORDER BY 1
              LIMIT @limit) g
            ORDER BY g.grp
            """;

        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql)
            .Int("@d0", DayOf(since)).Int("@d1", DayOf(until)).Text("@after", after).Int("@limit", limit + 1)
            .Int("@s", since.ToUnixTimeMilliseconds()).Int("@e", until.ToUnixTimeMilliseconds());
        if (backend is not null)
        {
            command.Text("@b", backend);
        }

        return await ReadPageAsync(command, limit, static reader => UsageRowOf(reader), static row => Cursor.Encode(row.Group), cancellationToken).ConfigureAwait(false);
    }

    public Task<Page<StaleObject>> StaleAsync(DateTimeOffset accessedBefore, long minSize, string? backend, int limit, string? cursor, CancellationToken cancellationToken) =>
        StaleAsync(accessedBefore, minSize, backend, newestFirst: false, limit, cursor, cancellationToken);

    public async Task<Page<StaleObject>> StaleAsync(DateTimeOffset accessedBefore, long minSize, string? backend, bool newestFirst, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var after = Cursor.Decode(cursor, 2);
        // Newest first walks the same partial index backwards; the keyset comparison flips with the order.
        var sql = $"""
            SELECT id, backend, path, size, last_access, last_modified FROM objects
            WHERE deleted = 0 {(backend is null ? "" : "AND backend = @b")} AND last_access < @before
              AND (last_access, id) {(newestFirst ? "<" : ">")} (@la, @id) AND size >= @min
            ORDER BY {(newestFirst ? "last_access DESC, id DESC" : "last_access, id")}
            LIMIT @limit
            """;
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql)
            .Int("@before", accessedBefore.ToUnixTimeMilliseconds())
            .Int("@la", after is not null ? Cursor.Long(after[0]) : newestFirst ? long.MaxValue : -1)
            .Int("@id", after is null ? 0 : Cursor.Long(after[1]))
            .Int("@min", minSize)
            .Int("@limit", limit + 1);
        if (backend is not null)
        {
            command.Text("@b", backend);
        }

        return await ReadKeyedPageAsync<StaleObject, (long Access, long Id)>(command, limit, static reader =>
            {
                var access = reader.Long(4);
                return (new StaleObject(reader.GetString(1), reader.GetString(2), reader.Long(3),
                    access == 0 ? null : DateTimeOffset.FromUnixTimeMilliseconds(access), DateTimeOffset.FromUnixTimeMilliseconds(reader.Long(5))), (access, reader.Long(0)));
            },
            static last => Cursor.Encode(Invariant(last.Access), Invariant(last.Id)), cancellationToken).ConfigureAwait(false);
    }

    public async Task<Page<UsageDay>> UsageDailyAsync(string groupBy, string? backend, DateTimeOffset since, DateTimeOffset until, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var after = Cursor.Decode(cursor, 2);
        var byTeam = groupBy == "team";
        var group = byTeam ? $"coalesce(t.team, '{NoTeam}')" : "a.user_name";
        var join = byTeam ? "LEFT JOIN team_members t ON t.user_name = a.user_name" : "";
        // The same covering index range as usage (only columns of access_daily_day_usage, so no row lookups: summing
        // miss_bytes too made it 2 s for 90 days at the bench's size); the keyset is (day, group), the series' order.
        var sql = $"""
            SELECT a.day, {group} AS grp, CAST(sum(a.bytes_read) AS BIGINT), CAST(sum(a.reads) AS BIGINT), CAST(sum(a.cache_hits) AS BIGINT)
            FROM access_daily a {join}
            WHERE a.day >= @d0 AND a.day <= @d1 {(backend is null ? "" : "AND a.backend = @b")}
            GROUP BY a.day, {group}
            HAVING (a.day, {group}) > (@ad, @ag)
            ORDER BY 1, 2
            LIMIT @limit
            """;
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        // The rows before the cursor's day cannot be on this page: starting the range there keeps a later page from
        // summing the whole window again (the HAVING still cuts the cursor day's groups up to the cursor).
        var afterDay = after is null ? long.MinValue : Cursor.Long(after[0]);
        await using var command = connection.Command(sql)
            .Int("@d0", Math.Max(DayOf(since), afterDay)).Int("@d1", DayOf(until))
            .Int("@ad", afterDay).Text("@ag", after?[1] ?? "")
            .Int("@limit", limit + 1);
        if (backend is not null)
        {
            command.Text("@b", backend);
        }

        return await ReadPageAsync(command, limit,
            static reader => new UsageDay(DateTimeOffset.FromUnixTimeMilliseconds(reader.Long(0) * DayMs), reader.GetString(1), reader.Long(2), reader.Long(3), reader.Long(4)),
            static day => Cursor.Encode(Invariant(DayOf(day.Date)), day.Group), cancellationToken).ConfigureAwait(false);
    }

    public async Task<Page<UsageRow>> TeamUsersAsync(string team, string? backend, DateTimeOffset since, DateTimeOffset until, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var after = Cursor.Decode(cursor, 1)?[0] ?? "";
        // Users without a team have no team_members row: "(none)" is the anti-join.
        var members = team == NoTeam
            ? "LEFT JOIN team_members t ON t.user_name = a.user_name WHERE t.user_name IS NULL AND"
            : "JOIN team_members t ON t.user_name = a.user_name WHERE t.team = @t AND";
        var sql = $"""
            SELECT g.grp, g.bytes, g.reads, g.hits,
              (SELECT count(*) FROM user_files f WHERE f.user_name = g.grp AND f.last_access >= @s AND f.last_access <= @e {(backend is null ? "" : "AND f.backend = @b")})
            FROM (
              SELECT a.user_name AS grp, CAST(sum(a.bytes_read) AS BIGINT) AS bytes, CAST(sum(a.reads) AS BIGINT) AS reads, CAST(sum(a.cache_hits) AS BIGINT) AS hits
              FROM access_daily a {members} a.day >= @d0 AND a.day <= @d1 {(backend is null ? "" : "AND a.backend = @b")} AND a.user_name > @after
              GROUP BY a.user_name
              ORDER BY 1
              LIMIT @limit) g
            ORDER BY g.grp
            """;
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql)
            .Text("@t", team).Int("@d0", DayOf(since)).Int("@d1", DayOf(until)).Text("@after", after).Int("@limit", limit + 1)
            .Int("@s", since.ToUnixTimeMilliseconds()).Int("@e", until.ToUnixTimeMilliseconds());
        if (backend is not null)
        {
            command.Text("@b", backend);
        }

        return await ReadPageAsync(command, limit, static reader => UsageRowOf(reader), static row => Cursor.Encode(row.Group), cancellationToken).ConfigureAwait(false);
    }

    public async Task<Page<TeamObject>> TeamObjectsAsync(string team, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var after = Cursor.Decode(cursor, 2) ?? ["", ""];
        // A range of team_files' primary key; the size comes from the object's row (0 if it has gone or was never crawled).
        const string sql = """
            SELECT f.backend, f.path, coalesce(o.size, 0), f.last_access FROM team_files f
            LEFT JOIN objects o ON o.backend = f.backend AND o.path = f.path AND o.deleted = 0
            WHERE f.team = @t AND (f.backend, f.path) > (@b, @p)
            ORDER BY f.backend, f.path
            LIMIT @limit
            """;
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql).Text("@t", team).Text("@b", after[0]).Text("@p", after[1]).Int("@limit", limit + 1);
        return await ReadPageAsync(command, limit,
            static reader => new TeamObject(reader.GetString(0), reader.GetString(1), reader.Long(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.Long(3))),
            static read => Cursor.Encode(read.Backend, read.Path), cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<TopObject>> TopObjectsAsync(int limit, CancellationToken cancellationToken)
    {
        // Sums user_files per object: a pass over the per-user rollup (objects actually read, not the whole index).
        const string sql = """
            SELECT backend, path, CAST(sum(bytes_read) AS BIGINT) AS bytes, CAST(sum(reads) AS BIGINT) FROM user_files
            GROUP BY backend, path
            ORDER BY bytes DESC, backend, path
            LIMIT @limit
            """;
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql).Int("@limit", limit);
        var items = new List<TopObject>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            items.Add(new TopObject(reader.GetString(0), reader.GetString(1), reader.Long(2), reader.Long(3)));
        }

        return items;
    }

    public async Task<Page<NodeRow>> NodesAsync(DateTimeOffset since, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var after = Cursor.Decode(cursor, 1)?[0] ?? "";
        const string sql = """
            SELECT node, CAST(sum(bytes_read) AS BIGINT), CAST(sum(reads) AS BIGINT), CAST(sum(cache_hits) AS BIGINT), CAST(sum(miss_bytes) AS BIGINT),
              max(last_seen)
            FROM node_daily
            WHERE day >= @d0 AND node > @after
            GROUP BY node
            ORDER BY node
            LIMIT @limit
            """;
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql).Int("@d0", DayOf(since)).Text("@after", after).Int("@limit", limit + 1);
        return await ReadPageAsync(command, limit, static reader =>
            {
                var reads = reader.Long(2);
                return new NodeRow(reader.GetString(0), reader.Long(1), reads, reads == 0 ? 0 : (double)reader.Long(3) / reads, reader.Long(4),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.Long(5)));
            },
            static node => Cursor.Encode(node.Node), cancellationToken).ConfigureAwait(false);
    }

    public async Task<Page<GrowthPoint>> GrowthAsync(string? backend, DateTimeOffset since, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var after = Cursor.Decode(cursor, 1) is { } c ? Cursor.Long(c[0]) : 0;
        var sql = $"""
            SELECT id, backend, finished_at, objects, bytes FROM crawls
            WHERE finished_at IS NOT NULL AND error IS NULL AND finished_at >= @since AND id > @after {(backend is null ? "" : "AND backend = @b")}
            ORDER BY id
            LIMIT @limit
            """;
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(sql).Int("@since", since.ToUnixTimeMilliseconds()).Int("@after", after).Int("@limit", limit + 1);
        if (backend is not null)
        {
            command.Text("@b", backend);
        }

        return await ReadKeyedPageAsync(command, limit,
            static reader => (new GrowthPoint(reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.Long(2)), reader.Long(3), reader.Long(4)), reader.Long(0)),
            static id => Cursor.Encode(Invariant(id)), cancellationToken).ConfigureAwait(false);
    }

    public async Task PutQuotaAsync(string team, string backend, long softBytes, long hardBytes, CancellationToken cancellationToken)
    {
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(
            """
            INSERT INTO quotas (team, backend, soft_bytes, hard_bytes) VALUES (@t, @b, @s, @h)
            ON CONFLICT (team, backend) DO UPDATE SET soft_bytes = excluded.soft_bytes, hard_bytes = excluded.hard_bytes
            """).Text("@t", team).Text("@b", backend).Int("@s", softBytes).Int("@h", hardBytes);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<Page<QuotaRow>> QuotasAsync(int limit, string? cursor, CancellationToken cancellationToken)
    {
        var after = Cursor.Decode(cursor, 2) ?? ["", ""];
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await ReadQuotasAsync(connection, "WHERE (team, backend) > (@t, @b) ORDER BY team, backend LIMIT @limit",
            c => c.Text("@t", after[0]).Text("@b", after[1]).Int("@limit", limit + 1), cancellationToken).ConfigureAwait(false);
        var items = new List<QuotaRow>();
        foreach (var (quota, _) in rows.Take(limit))
        {
            items.Add(await WithUsageAsync(connection, quota, cancellationToken).ConfigureAwait(false));
        }

        return new Page<QuotaRow>(items, rows.Count > limit ? Cursor.Encode(items[^1].Team, items[^1].Backend) : null);
    }

    public async Task<QuotaRow?> QuotaAsync(string team, string backend, CancellationToken cancellationToken)
    {
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        var rows = await ReadQuotasAsync(connection, "WHERE team = @t AND backend = @b",
            c => c.Text("@t", team).Text("@b", backend), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : await WithUsageAsync(connection, rows[0].Quota, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<QuotaTransition>> RefreshQuotaStatesAsync(IReadOnlyCollection<string>? backends, CancellationToken cancellationToken)
    {
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        var stored = new List<(QuotaRow Quota, string Stored)>();
        if (backends is null)
        {
            stored.AddRange(await ReadQuotasAsync(connection, "", _ => { }, cancellationToken).ConfigureAwait(false));
        }
        else
        {
            foreach (var backend in backends)
            {
                stored.AddRange(await ReadQuotasAsync(connection, "WHERE backend = @b", c => c.Text("@b", backend), cancellationToken).ConfigureAwait(false));
            }

            // A team's all-backends quota moves with every backend's usage.
            if (!backends.Contains(IGovernanceStore.AllBackends))
            {
                stored.AddRange(await ReadQuotasAsync(connection, "WHERE backend = @b", c => c.Text("@b", IGovernanceStore.AllBackends), cancellationToken).ConfigureAwait(false));
            }
        }

        var transitions = new List<QuotaTransition>();
        foreach (var (quota, previous) in stored)
        {
            var now = await WithUsageAsync(connection, quota, cancellationToken).ConfigureAwait(false);
            if (now.State == previous)
            {
                continue;
            }

            // Compare-and-set on the stored state: when two ingests race, only one of them reports the change.
            await using var update = connection.Command("UPDATE quotas SET state = @s WHERE team = @t AND backend = @b AND state = @old")
                .Text("@s", now.State).Text("@t", now.Team).Text("@b", now.Backend).Text("@old", previous);
            if (await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1)
            {
                transitions.Add(new QuotaTransition(now, previous));
            }
        }

        return transitions;
    }

    public async Task<UserReport> UserAsync(string user, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        string? team;
        await using (var command = connection.Command("SELECT team FROM team_members WHERE user_name = @u").Text("@u", user))
        {
            team = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }

        long bytes = 0, reads = 0;
        await using (var command = connection.Command(
            "SELECT CAST(coalesce(sum(bytes_read), 0) AS BIGINT), CAST(coalesce(sum(reads), 0) AS BIGINT) FROM access_daily WHERE user_name = @u AND day >= @d0 AND day <= @d1")
            .Text("@u", user).Int("@d0", DayOf(since)).Int("@d1", DayOf(until)))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                bytes = reader.Long(0);
                reads = reader.Long(1);
            }
        }

        var top = new List<TopPath>();
        await using (var command = connection.Command(
            """
            SELECT backend, path, bytes_read, reads FROM user_files WHERE user_name = @u AND last_access >= @s AND last_access <= @e
            ORDER BY bytes_read DESC, backend, path LIMIT 10
            """).Text("@u", user).Int("@s", since.ToUnixTimeMilliseconds()).Int("@e", until.ToUnixTimeMilliseconds()))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                top.Add(new TopPath(reader.GetString(0), reader.GetString(1), reader.Long(2), reader.Long(3)));
            }
        }

        return new UserReport(user, team, bytes, reads, top);
    }

    public async Task<Page<BackendRow>> BackendsAsync(int limit, string? cursor, CancellationToken cancellationToken)
    {
        var after = Cursor.Decode(cursor, 1)?[0] ?? "";
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        var names = new List<(string Name, string Type)>();
        await using (var command = connection.Command("SELECT name, type FROM backends WHERE name > @after ORDER BY name LIMIT @limit")
            .Text("@after", after).Int("@limit", limit + 1))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                names.Add((reader.GetString(0), reader.GetString(1)));
            }
        }

        var items = new List<BackendRow>();
        foreach (var (name, type) in names.Take(limit))
        {
            await using var command = connection.Command(
                "SELECT objects, bytes, finished_at FROM crawls WHERE backend = @b AND finished_at IS NOT NULL AND error IS NULL ORDER BY id DESC LIMIT 1")
                .Text("@b", name);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            items.Add(await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
                ? new BackendRow(name, type, reader.Long(0), reader.Long(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.Long(2)))
                : new BackendRow(name, type, 0, 0, null));
        }

        return new Page<BackendRow>(items, names.Count > limit ? Cursor.Encode(items[^1].Name) : null);
    }

    public async Task<long> BeginCrawlAsync(string requestId, string backend, CancellationToken cancellationToken)
    {
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("INSERT INTO crawls (request_id, backend, started_at) VALUES (@r, @b, @t) RETURNING id")
            .Text("@r", requestId).Text("@b", backend).Int("@t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        return await command.ScalarLongAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task RecordCrawledAsync(string backend, long crawlId, IReadOnlyList<(string Path, long Size, string ETag, DateTimeOffset LastModified)> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // An unchanged ETag keeps the stored size and modification time; only the crawl stamp moves (that stamp
        // is how FinishCrawlAsync tells vanished objects from present ones). last_access is never touched here.
        await using var upsert = connection.Command(
            """
            INSERT INTO objects (backend, path, size, etag, last_modified, last_access, crawl_id, deleted) VALUES (@b, @p, @s, @e, @m, 0, @c, 0)
            ON CONFLICT (backend, path) DO UPDATE SET crawl_id = excluded.crawl_id, deleted = 0,
              size = CASE WHEN objects.etag = excluded.etag THEN objects.size ELSE excluded.size END,
              last_modified = CASE WHEN objects.etag = excluded.etag THEN objects.last_modified ELSE excluded.last_modified END,
              etag = excluded.etag
            """, transaction).Text("@b", backend).Text("@p", "").Int("@s", 0).Text("@e", "").Int("@m", 0).Int("@c", crawlId);
        foreach (var (path, size, etag, lastModified) in entries)
        {
            upsert.Set("@p", path);
            upsert.Set("@s", size);
            upsert.Set("@e", etag);
            upsert.Set("@m", lastModified.ToUnixTimeMilliseconds());
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<GrowthPoint> FinishCrawlAsync(string backend, long crawlId, CancellationToken cancellationToken)
    {
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var vanish = connection.Command("UPDATE objects SET deleted = 1 WHERE backend = @b AND deleted = 0 AND crawl_id <> @c", transaction)
            .Text("@b", backend).Int("@c", crawlId))
        {
            await vanish.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        long objects = 0, bytes = 0;
        await using (var totals = connection.Command(
            "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM objects WHERE backend = @b AND deleted = 0", transaction).Text("@b", backend))
        {
            await using var reader = await totals.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                objects = reader.Long(0);
                bytes = reader.Long(1);
            }
        }

        var finished = DateTimeOffset.UtcNow;
        await using (var done = connection.Command("UPDATE crawls SET finished_at = @t, objects = @o, bytes = @by WHERE id = @c", transaction)
            .Int("@t", finished.ToUnixTimeMilliseconds()).Int("@o", objects).Int("@by", bytes).Int("@c", crawlId))
        {
            await done.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new GrowthPoint(backend, DateTimeOffset.FromUnixTimeMilliseconds(finished.ToUnixTimeMilliseconds()), objects, bytes);
    }

    public async Task FailCrawlAsync(long crawlId, string error, CancellationToken cancellationToken)
    {
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command("UPDATE crawls SET finished_at = @t, error = @e WHERE id = @c")
            .Int("@t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).Text("@e", error).Int("@c", crawlId);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<CrawlStatus?> CrawlStatusAsync(string requestId, CancellationToken cancellationToken)
    {
        await using var connection = await _engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.Command(
            "SELECT backend, finished_at, objects, bytes, error FROM crawls WHERE request_id = @r ORDER BY id").Text("@r", requestId);
        var results = new List<GrowthPoint>();
        var running = false;
        string? error = null;
        var any = false;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            any = true;
            if (reader.IsDBNull(1))
            {
                running = true;
            }
            else if (reader.NullableText(4) is { } failed)
            {
                error = failed;
            }
            else
            {
                results.Add(new GrowthPoint(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.Long(1)), reader.Long(2), reader.Long(3)));
            }
        }

        return any ? new CrawlStatus(requestId, running ? "running" : error is null ? "done" : "failed", results, error) : null;
    }

    /// <summary>
    /// One page of a keyset query that asked for <paramref name="limit"/> + 1 rows: the extra row only says that a next
    /// page exists, which starts after the key <paramref name="read"/> gave the last row kept.
    /// </summary>
    private static async Task<Page<T>> ReadKeyedPageAsync<T, TKey>(DbCommand command, int limit, Func<DbDataReader, (T Item, TKey Key)> read, Func<TKey, string> cursorOf,
        CancellationToken cancellationToken)
    {
        var items = new List<T>();
        TKey last = default!;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (items.Count == limit)
            {
                return new Page<T>(items, cursorOf(last));
            }

            (var item, last) = read(reader);
            items.Add(item);
        }

        return new Page<T>(items, null);
    }

    /// <summary><see cref="ReadKeyedPageAsync{T, TKey}"/> for rows whose own fields make the cursor.</summary>
    private static Task<Page<T>> ReadPageAsync<T>(DbCommand command, int limit, Func<DbDataReader, T> read, Func<T, string> cursorOf, CancellationToken cancellationToken) =>
        ReadKeyedPageAsync(command, limit, reader => { var item = read(reader); return (item, item); }, cursorOf, cancellationToken);

    /// <summary>A usage row: group, bytes read, reads, cache hits (as a ratio of reads), objects.</summary>
    private static UsageRow UsageRowOf(DbDataReader reader)
    {
        var reads = reader.Long(2);
        return new UsageRow(reader.GetString(0), reader.Long(1), reads, reads == 0 ? 0 : (double)reader.Long(3) / reads, reader.Long(4));
    }

    private static async Task<List<(QuotaRow Quota, string Stored)>> ReadQuotasAsync(DbConnection connection, string where, Action<DbCommand> bind, CancellationToken cancellationToken)
    {
        await using var command = connection.Command($"SELECT team, backend, soft_bytes, hard_bytes, state FROM quotas {where}");
        bind(command);
        var rows = new List<(QuotaRow, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var state = reader.GetString(4);
            rows.Add((new QuotaRow(reader.GetString(0), reader.GetString(1), reader.Long(2), reader.Long(3), 0, state), state));
        }

        return rows;
    }

    /// <summary>
    /// used_bytes = bytes the team's users read from the backend on cache misses (bytes brought into a cache) over
    /// the last <see cref="IGovernanceStore.QuotaWindowDays"/> days, from the per-day rollups; summed over every
    /// backend for an all-backends quota (<see cref="IGovernanceStore.AllBackends"/>).
    /// </summary>
    private static async Task<QuotaRow> WithUsageAsync(DbConnection connection, QuotaRow quota, CancellationToken cancellationToken)
    {
        // A constant fragment chosen by code (not an OR on a parameter) keeps the backend in the index condition.
        var backendFilter = quota.Backend == IGovernanceStore.AllBackends ? "" : "AND a.backend = @b";
        await using var command = connection.Command(
            $"""
            SELECT CAST(coalesce(sum(a.miss_bytes), 0) AS BIGINT) FROM access_daily a JOIN team_members t ON t.user_name = a.user_name
            WHERE t.team = @t {backendFilter} AND a.day >= @d
            """).Text("@t", quota.Team).Text("@b", quota.Backend).Int("@d", DayOf(DateTimeOffset.UtcNow) - IGovernanceStore.QuotaWindowDays + 1);
        var used = await command.ScalarLongAsync(cancellationToken).ConfigureAwait(false);
        var state = used > quota.HardBytes ? QuotaStates.HardExceeded : used > quota.SoftBytes ? QuotaStates.SoftExceeded : QuotaStates.Ok;
        return quota with { UsedBytes = used, State = state };
    }

    private static long DayOf(DateTimeOffset time) => Math.DivRem(time.ToUnixTimeMilliseconds(), DayMs).Quotient;

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
