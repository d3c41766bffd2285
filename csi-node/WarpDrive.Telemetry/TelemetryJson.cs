using System.Text.Json;
using System.Text.Json.Serialization;

namespace WarpDrive.Telemetry;

/// <summary>The one JSON shape of events on every sink: the contract's snake_case names, RFC 3339 timestamps.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(AccessEvent))]
[JsonSerializable(typeof(IngestRequest))]
internal sealed partial class TelemetryJsonContext : JsonSerializerContext;

/// <summary>Body of <c>POST /api/v1/ingest</c>.</summary>
internal sealed record IngestRequest([property: JsonPropertyName("events")] IReadOnlyList<AccessEvent> Events);

public static class TelemetryJson
{
    public static string Serialize(in AccessEvent accessEvent) => JsonSerializer.Serialize(accessEvent, TelemetryJsonContext.Default.AccessEvent);

    public static AccessEvent Deserialize(string json) => JsonSerializer.Deserialize(json, TelemetryJsonContext.Default.AccessEvent);

    internal static byte[] SerializeIngest(IReadOnlyList<AccessEvent> events) =>
        JsonSerializer.SerializeToUtf8Bytes(new IngestRequest(events), TelemetryJsonContext.Default.IngestRequest);
}
