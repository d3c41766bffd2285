using System.Text.Json.Serialization;

namespace WarpDrive.Telemetry;

/// <summary>What a caller did to a file; values are the contract's <c>op</c> strings.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AccessOp>))]
public enum AccessOp
{
    [JsonStringEnumMemberName("read")] Read,
    [JsonStringEnumMemberName("open")] Open,
    [JsonStringEnumMemberName("stat")] Stat,
    [JsonStringEnumMemberName("list")] List,
}

/// <summary>
/// One access (or, from a rollup, <see cref="Count"/> accesses summed) as sent to <c>POST /api/v1/ingest</c>.
/// The FUSE path fills <see cref="CallerPid"/>/<see cref="CallerUid"/> and leaves <see cref="User"/> null: the
/// pump resolves the caller off the hot path (see <see cref="Identity.ICallerResolver"/>).
/// </summary>
public readonly record struct AccessEvent
{
    [JsonPropertyName("ts")]
    public DateTimeOffset Timestamp { get; init; }

    [JsonPropertyName("node")]
    public string Node { get; init; }

    [JsonPropertyName("user")]
    public string? User { get; init; }

    [JsonPropertyName("namespace"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Namespace { get; init; }

    [JsonPropertyName("pod"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Pod { get; init; }

    [JsonPropertyName("service_account"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ServiceAccount { get; init; }

    [JsonPropertyName("backend")]
    public string Backend { get; init; }

    [JsonPropertyName("path")]
    public string Path { get; init; }

    [JsonPropertyName("op")]
    public AccessOp Op { get; init; }

    [JsonPropertyName("bytes_read")]
    public long BytesRead { get; init; }

    [JsonPropertyName("cache_hit")]
    public bool CacheHit { get; init; }

    [JsonPropertyName("latency_ms")]
    public double LatencyMs { get; init; }

    /// <summary>Accesses this event stands for: 1, or more for a rollup summary.</summary>
    [JsonPropertyName("count")]
    public int Count { get; init; }

    /// <summary>Process that made the request (FUSE header pid); 0 when unknown. Not sent.</summary>
    [JsonIgnore]
    public int CallerPid { get; init; }

    /// <summary>Uid of the caller (FUSE header uid). Not sent.</summary>
    [JsonIgnore]
    public uint CallerUid { get; init; }
}
