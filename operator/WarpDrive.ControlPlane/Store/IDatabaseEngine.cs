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

    /// <summary>
    /// SQL run first in an ingest transaction ("" if none): a shared lock against <see cref="TeamsWriteLockSql"/>, so
    /// the teams an ingest looked up cannot change before it commits its <c>team_files</c> rows. SQLite needs none:
    /// its write transactions are serialized (<c>BEGIN IMMEDIATE</c>).
    /// </summary>
    string TeamsReadLockSql { get; }

    /// <summary>SQL run first in a team change ("" if none): waits for running ingests and holds new ones off.</summary>
    string TeamsWriteLockSql { get; }

    /// <summary>
    /// SQL run last in a team change ("" if none). A team change moves many team_files rows between teams at once
    /// (all of them, when teams are first set up); PostgreSQL's planner would keep believing the old distribution until
    /// autovacuum's next ANALYZE and count a team's files with a sequential scan per team (seconds instead of
    /// milliseconds). SQLite plans without statistics and prefers the index anyway.
    /// </summary>
    string TeamFilesStatisticsSql { get; }

    ValueTask<DbConnection> OpenAsync(CancellationToken cancellationToken);
}
