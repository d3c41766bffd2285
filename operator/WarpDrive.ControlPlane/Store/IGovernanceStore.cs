namespace WarpDrive.ControlPlane.Store;

/// <summary>
/// The durable governance data: storage index, access rollups, teams and quotas. One implementation serves both
/// engines (<see cref="SqlGovernanceStore"/>). Thread-safe: every call opens its own pooled connection.
/// </summary>
public interface IGovernanceStore : IAsyncDisposable
{
    /// <summary>The quota window: used bytes count cache misses of the last this many days.</summary>
    const int QuotaWindowDays = 30;

    /// <summary>The backend name of a team's quota over all backends together (its usage is the sum over every backend).</summary>
    const string AllBackends = "*";

    Task PingAsync(CancellationToken cancellationToken);

    Task RegisterBackendAsync(string name, string type, CancellationToken cancellationToken);

    /// <summary>Applies a batch once: a repeated <paramref name="idempotencyKey"/> is answered from the first time.</summary>
    Task<IngestResult> IngestAsync(IReadOnlyList<AccessEvent> events, string? idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Makes <paramref name="users"/> the members of <paramref name="team"/> (moving them from any other team).</summary>
    Task SetTeamAsync(string team, IReadOnlyList<string> users, CancellationToken cancellationToken);

    Task<Page<UsageRow>> UsageAsync(string groupBy, string? backend, DateTimeOffset since, DateTimeOffset until, int limit, string? cursor, CancellationToken cancellationToken);

    Task<Page<StaleObject>> StaleAsync(DateTimeOffset accessedBefore, long minSize, string? backend, int limit, string? cursor, CancellationToken cancellationToken) =>
        StaleAsync(accessedBefore, minSize, backend, newestFirst: false, limit, cursor, cancellationToken);

    /// <summary>Stale objects oldest access first, or (<paramref name="newestFirst"/>) the most recently read of them first.</summary>
    Task<Page<StaleObject>> StaleAsync(DateTimeOffset accessedBefore, long minSize, string? backend, bool newestFirst, int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>
    /// Usage per (day, group) in day order, for time series: the window's rollup rows summed per team
    /// (<paramref name="groupBy"/> "team") or user. Its size follows days × groups, never the number of objects.
    /// </summary>
    Task<Page<UsageDay>> UsageDailyAsync(string groupBy, string? backend, DateTimeOffset since, DateTimeOffset until, int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>Usage by user restricted to the members of <paramref name="team"/> ("(none)": users without a team).</summary>
    Task<Page<UsageRow>> TeamUsersAsync(string team, string? backend, DateTimeOffset since, DateTimeOffset until, int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>The objects the team's users read (last read by any of them), in (backend, path) order, with their indexed size.</summary>
    Task<Page<TeamObject>> TeamObjectsAsync(string team, int limit, string? cursor, CancellationToken cancellationToken);

    /// <summary>The objects with the most bytes read by all users together (all-time totals of the per-user rollup).</summary>
    Task<IReadOnlyList<TopObject>> TopObjectsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>What each node agent reported since <paramref name="since"/> (reads, bytes, cache hits, last report), by node name.</summary>
    Task<Page<NodeRow>> NodesAsync(DateTimeOffset since, int limit, string? cursor, CancellationToken cancellationToken);

    Task<Page<GrowthPoint>> GrowthAsync(string? backend, DateTimeOffset since, int limit, string? cursor, CancellationToken cancellationToken);

    Task PutQuotaAsync(string team, string backend, long softBytes, long hardBytes, CancellationToken cancellationToken);

    Task<Page<QuotaRow>> QuotasAsync(int limit, string? cursor, CancellationToken cancellationToken);

    Task<QuotaRow?> QuotaAsync(string team, string backend, CancellationToken cancellationToken);

    /// <summary>Recomputes quota states (all, or only those on <paramref name="backends"/>) and returns the changes.</summary>
    Task<IReadOnlyList<QuotaTransition>> RefreshQuotaStatesAsync(IReadOnlyCollection<string>? backends, CancellationToken cancellationToken);

    Task<UserReport> UserAsync(string user, DateTimeOffset since, DateTimeOffset until, CancellationToken cancellationToken);

    Task<Page<BackendRow>> BackendsAsync(int limit, string? cursor, CancellationToken cancellationToken);

    Task<long> BeginCrawlAsync(string requestId, string backend, CancellationToken cancellationToken);

    /// <summary>Records one listed page of a crawl; unchanged ETags keep their stored metadata.</summary>
    Task RecordCrawledAsync(string backend, long crawlId, IReadOnlyList<(string Path, long Size, string ETag, DateTimeOffset LastModified)> entries, CancellationToken cancellationToken);

    /// <summary>Marks objects the crawl did not see as deleted and writes the crawl's growth row.</summary>
    Task<GrowthPoint> FinishCrawlAsync(string backend, long crawlId, CancellationToken cancellationToken);

    Task FailCrawlAsync(long crawlId, string error, CancellationToken cancellationToken);

    Task<CrawlStatus?> CrawlStatusAsync(string requestId, CancellationToken cancellationToken);
}
