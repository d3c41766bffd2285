using System.Data.Common;

namespace WarpDrive.ControlPlane.Store;

/// <summary>
/// The little that differs between SQLite and PostgreSQL: how to open a connection, which migration scripts to
/// run, and a handful of SQL spellings. Everything else is the same parameterized SQL on both.
/// </summary>
internal interface IDatabaseEngine : IAsyncDisposable
{
    /// <summary>"sqlite" or "postgres": selects the folder of migration scripts.</summary>
    string Name { get; }

    /// <summary>The two-argument maximum: <c>max</c> in SQLite, <c>GREATEST</c> in PostgreSQL.</summary>
    string Greatest { get; }

    /// <summary>SQL run first in the migration transaction so two hosts starting together migrate once ("" if none).</summary>
    string MigrationLockSql { get; }

    ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);
}
