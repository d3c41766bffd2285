using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace WarpDrive.ControlPlane.Store;

/// <summary>Embedded default: one SQLite file in WAL mode, so readers never wait for the crawler's writes.</summary>
internal sealed class SqliteEngine : IDatabaseEngine
{
    private readonly string _connectionString;

    public SqliteEngine(string path)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 60, // also the busy timeout: a writer waits for another writer instead of failing
        }.ToString();
    }

    public string Name => DatabaseTarget.Sqlite;

    public string Greatest => "max";

    public string MigrationLockSql => "";

    public string TeamsReadLockSql => "";

    public string TeamsWriteLockSql => "";

    public string TeamFilesStatisticsSql => "";

    public async ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;";
        await pragma.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        return connection;
    }

    public ValueTask DisposeAsync()
    {
        // Pooled handles keep the file open; release them so the owner can move or delete it.
        SqliteConnection.ClearAllPools();
        return ValueTask.CompletedTask;
    }
}
