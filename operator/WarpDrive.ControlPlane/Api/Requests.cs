using WarpDrive.ControlPlane.Store;

namespace WarpDrive.ControlPlane.Api;

public sealed record IngestRequest(IReadOnlyList<AccessEvent?>? Events);

public sealed record TeamRequest(string? Team, IReadOnlyList<string>? Users);

public sealed record QuotaRequest(string? Team, string? Backend, long? SoftBytes, long? HardBytes);

public sealed record CrawlRequest(string? Backend);

public sealed record WarmCheckRequest(string? Team, string? Backend, long? Bytes);
