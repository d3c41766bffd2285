namespace WarpDrive.ControlPlane.Store;

/// <summary>One access (or a node's rollup of <see cref="Count"/> accesses) reported by a node agent.</summary>
public sealed record AccessEvent
{
    public DateTimeOffset? Ts { get; init; }
    public string? Node { get; init; }
    public string? User { get; init; }
    public string? Namespace { get; init; }
    public string? Pod { get; init; }
    public string? ServiceAccount { get; init; }
    public string? Backend { get; init; }
    public string? Path { get; init; }
    public string? Op { get; init; }
    public long BytesRead { get; init; }
    public bool CacheHit { get; init; }
    public double LatencyMs { get; init; }
    public long? Count { get; init; }
}

public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

public sealed record UsageRow(string Group, long BytesRead, long Reads, double CacheHitRatio, long Files);

public sealed record UsageDay(DateTimeOffset Date, string Group, long BytesRead, long Reads, long CacheHits);

public sealed record TeamObject(string Backend, string Path, long Size, DateTimeOffset LastAccess);

public sealed record TopObject(string Backend, string Path, long BytesRead, long Reads);

/// <summary>A node agent's reports in a window: totals of its events and when it last reported.</summary>
public sealed record NodeRow(string Node, long BytesRead, long Reads, double CacheHitRatio, long MissBytes, DateTimeOffset LastSeen);

public sealed record StaleObject(string Backend, string Path, long Size, DateTimeOffset? LastAccess, DateTimeOffset LastModified);

public sealed record GrowthPoint(string Backend, DateTimeOffset Date, long Objects, long Bytes);

public sealed record QuotaRow(string Team, string Backend, long SoftBytes, long HardBytes, long UsedBytes, string State);

public sealed record TopPath(string Backend, string Path, long BytesRead, long Reads);

public sealed record UserReport(string User, string? Team, long BytesRead, long Reads, IReadOnlyList<TopPath> TopPaths);

public sealed record BackendRow(string Name, string Type, long Objects, long Bytes, DateTimeOffset? LastCrawl);

public sealed record CrawlStatus(string CrawlId, string State, IReadOnlyList<GrowthPoint> Results, string? Error);

public sealed record IngestResult(int Accepted, bool Replayed, IReadOnlyCollection<string> Backends);

/// <summary>A quota whose state changed when it was re-evaluated.</summary>
public sealed record QuotaTransition(QuotaRow Quota, string PreviousState);

public static class QuotaStates
{
    public const string Ok = "ok";
    public const string SoftExceeded = "soft_exceeded";
    public const string HardExceeded = "hard_exceeded";
}

/// <summary>A request value the API refuses; <see cref="Parameter"/> names it in the 400 answer.</summary>
public sealed class ValidationException(string parameter, string message) : Exception(message)
{
    public string Parameter { get; } = parameter;
}
