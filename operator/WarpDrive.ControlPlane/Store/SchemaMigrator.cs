using System.Reflection;

namespace WarpDrive.ControlPlane.Store;

/// <summary>
/// Brings the schema up to date on start: the embedded scripts <c>Migrations/{engine}/NNN_name.sql</c> run in
/// order, each in its own transaction together with its row in <c>schema_version</c>, so a crash mid-way leaves
/// the last fully applied version and the next start resumes from there.
/// </summary>
internal static class SchemaMigrator
{
    /// <param name="targetVersion">Stop after this version (tests build databases as an older release left them).</param>
    public static async Task<int> MigrateAsync(IDatabaseEngine engine, CancellationToken cancellationToken, int targetVersion = int.MaxValue)
    {
        await using var connection = await engine.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (var create = connection.Command("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"))
        {
            await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var current = 0;
        foreach (var (version, script) in Scripts(engine.Name).Where(s => s.Version <= targetVersion))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            if (engine.MigrationLockSql.Length > 0)
            {
                await using var lockCommand = connection.Command(engine.MigrationLockSql, transaction);
                await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var applied = connection.Command("SELECT count(*) FROM schema_version WHERE version = @v", transaction).Int("@v", version))
            {
                if (await applied.ScalarLongAsync(cancellationToken).ConfigureAwait(false) > 0)
                {
                    current = version;
                    continue;
                }
            }

            await using (var run = connection.Command(script, transaction))
            {
                await run.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var record = connection.Command("INSERT INTO schema_version (version, applied_at) VALUES (@v, @t)", transaction)
                .Int("@v", version).Int("@t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()))
            {
                await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            current = version;
        }

        return current;
    }

    /// <summary>The engine's scripts ordered by their numeric prefix.</summary>
    internal static IEnumerable<(int Version, string Script)> Scripts(string engine)
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        var prefix = $"{assembly.GetName().Name}.Migrations.{engine}.";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Select(n => (Version: int.Parse(n[prefix.Length..].Split('_')[0].TrimStart('_'), System.Globalization.CultureInfo.InvariantCulture), Name: n))
            .OrderBy(s => s.Version)
            .Select(s => (s.Version, Read(assembly, s.Name)))
            .ToList();
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"missing migration {name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
