using System.Text.Json;

namespace WarpDrive.ControlPlane.Api;

/// <summary>The contract's JSON: snake_case names, RFC 3339 times (System.Text.Json's default for DateTimeOffset).</summary>
public static class Json
{
    public static JsonSerializerOptions Options { get; } = Configure(new JsonSerializerOptions(JsonSerializerDefaults.Web));

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.PropertyNameCaseInsensitive = false;
        return options;
    }
}
