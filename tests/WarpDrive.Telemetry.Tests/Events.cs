using System.Text.Json;

namespace WarpDrive.Telemetry.Tests;

internal static class Events
{
    public static readonly DateTimeOffset Noon = new(2025, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public static AccessEvent Read(string path, long bytes = 4096, string user = "alice", DateTimeOffset? ts = null, bool hit = true) => new()
    {
        Timestamp = ts ?? DateTimeOffset.UtcNow,
        Node = "node-1",
        User = user,
        Backend = "datasets",
        Path = path,
        Op = AccessOp.Read,
        BytesRead = bytes,
        CacheHit = hit,
        LatencyMs = 2,
        Count = 1,
    };

    public static AccessEvent Stat(string path) => Read(path, 0) with { Op = AccessOp.Stat };

    /// <summary>The events of an ingest request body.</summary>
    public static List<JsonElement> OfIngestBody(string body) =>
        [.. JsonDocument.Parse(body).RootElement.GetProperty("events").EnumerateArray().Select(e => e.Clone())];
}
