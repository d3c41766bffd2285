using System.Globalization;

namespace WarpDrive.Backends;

/// <summary>Typed reads of a backend's string config map, with errors that name the key (never the value).</summary>
public sealed class BackendConfig(string type, IReadOnlyDictionary<string, string> values)
{
    public IReadOnlyDictionary<string, string> Values { get; } = values ?? throw new ArgumentNullException(nameof(values));

    public string? Optional(string key) =>
        Values.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    public string Required(string key) =>
        Optional(key) ?? throw new BackendConfigException(key, $"is required for backend type {type}");

    public bool Bool(string key, bool fallback) => Optional(key) switch
    {
        null => fallback,
        "true" or "True" or "1" or "yes" => true,
        "false" or "False" or "0" or "no" => false,
        _ => throw new BackendConfigException(key, $"must be true or false (backend type {type})"),
    };

    public int Int(string key, int fallback) => Optional(key) is { } s
        ? int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > 0
            ? v
            : throw new BackendConfigException(key, $"\"{s}\" is not a positive whole number (backend type {type})")
        : fallback;

    /// <summary>"30s", "500ms", "2m", or a bare number of seconds.</summary>
    public TimeSpan Duration(string key, TimeSpan fallback)
    {
        if (Optional(key) is not { } s)
        {
            return fallback;
        }
        return TryParseDuration(s, out var duration)
            ? duration
            : throw new BackendConfigException(key, $"\"{s}\" is not a duration (e.g. 30s, 500ms; backend type {type})");
    }

    /// <summary>The duration form of backend and auth settings: "30s", "500ms", "2m", or a bare number of seconds; positive.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(text);
        var (number, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1.0)
            : text.EndsWith('s') ? (text[..^1], 1000.0)
            : text.EndsWith('m') ? (text[..^1], 60_000.0)
            : (text, 1000.0);
        var ok = double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0;
        duration = ok ? TimeSpan.FromMilliseconds(value * unit) : default;
        return ok;
    }

    /// <summary>The value of the environment variable named by config key <paramref name="key"/>, if both are set.</summary>
    public string? SecretFromEnvironment(string key)
    {
        if (Optional(key) is not { } variable)
        {
            return null;
        }
        return Environment.GetEnvironmentVariable(variable) is { Length: > 0 } secret
            ? secret
            : throw new BackendConfigException(key, $"environment variable {variable} is not set");
    }

    /// <summary>A key prefix normalised to "" or "a/b/" (always ending in '/').</summary>
    public string Prefix(string key = "prefix") => Optional(key)?.Trim('/') is { Length: > 0 } p ? p + "/" : "";
}
