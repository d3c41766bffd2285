using System.Data.Common;
using Npgsql;

namespace WarpDrive.ControlPlane.Store;

/// <summary>Production store: a pooled Npgsql data source. The password comes from the environment, never the URL.</summary>
internal sealed class PostgresEngine : IDatabaseEngine
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresEngine(DatabaseTarget target, string? password)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = target.Host,
            Port = target.Port,
            Username = target.User,
            Database = target.Database,
            Password = password,
            // Keep the password out of NpgsqlConnection.ConnectionString, which code may log.
            PersistSecurityInfo = false,
        };
        _dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
    }

    public string Name => DatabaseTarget.Postgres;

    public string Greatest => "GREATEST";

    public string MigrationLockSql => "SELECT pg_advisory_xact_lock(77350001)";

    public string TeamsReadLockSql => "SELECT pg_advisory_xact_lock_shared(77350002)";

    public string TeamsWriteLockSql => "SELECT pg_advisory_xact_lock(77350002)";

    public string TeamFilesStatisticsSql => "ANALYZE team_files";

    public async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
