using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using WarpDrive.ControlPlane.Store;

namespace WarpDrive.ControlPlane.Api;

/// <summary>
/// Reads and checks query parameters and bodies by hand, so every refusal is a 400 that names the parameter
/// (framework binding would answer a bare 400 without saying which one).
/// </summary>
internal static class RequestReader
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;
    public const int MaxNameLength = 256;

    public static async Task<T> BodyAsync<T>(HttpRequest request)
        where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, Json.Options, request.HttpContext.RequestAborted).ConfigureAwait(false)
                ?? throw new ValidationException("body", "a JSON object is required");
        }
        catch (JsonException e)
        {
            var where = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "body" : e.Path[2..];
            throw new ValidationException(where, "is not valid JSON for this field");
        }
    }

    /// <summary>
    /// Refuses a query parameter the endpoint does not read, so a misspelt filter (<c>?by=team</c>) is a 400 naming
    /// it instead of a silently unfiltered answer.
    /// </summary>
    public static void OnlyParameters(HttpRequest request, params string[] known)
    {
        foreach (var name in request.Query.Keys)
        {
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                throw new ValidationException(name, $"is not a parameter of {request.Path} (known: {string.Join(", ", known)})");
            }
        }
    }

    public static int Limit(HttpRequest request) => (int)Long(request, "limit", DefaultLimit, 1, MaxLimit);

    public static string? Cursor(HttpRequest request) => Optional(request, "cursor");

    public static string? Optional(HttpRequest request, string name)
    {
        var values = request.Query[name];
        return values.Count == 0 || string.IsNullOrEmpty(values[0]) ? null : values[0];
    }

    public static string? OptionalName(HttpRequest request, string name) => Optional(request, name) is { } value ? Name(name, value) : null;

    public static long Long(HttpRequest request, string name, long fallback, long min, long max)
    {
        if (Optional(request, name) is not { } text)
        {
            return fallback;
        }

        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new ValidationException(name, $"must be an integer from {min} to {max}");
        }

        return value;
    }

    public static DateTimeOffset Time(HttpRequest request, string name, DateTimeOffset fallback)
    {
        if (Optional(request, name) is not { } text)
        {
            return fallback;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value)
            ? value
            : throw new ValidationException(name, "must be an RFC 3339 time, e.g. 2025-01-31T00:00:00Z");
    }

    public static string Choice(HttpRequest request, string name, string fallback, params string[] allowed)
    {
        var value = Optional(request, name) ?? fallback;
        return allowed.Contains(value) ? value : throw new ValidationException(name, $"must be one of {string.Join(", ", allowed)}");
    }

    /// <summary>A user, team, backend or path: non-empty, bounded, no control characters.</summary>
    public static string Name(string parameter, string? value, int maxLength = MaxNameLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ValidationException(parameter, "is required");
        }

        if (value.Length > maxLength || value.Any(char.IsControl))
        {
            throw new ValidationException(parameter, $"must be at most {maxLength} characters without control characters");
        }

        return value;
    }

    public static long NonNegative(string parameter, long? value) =>
        value is null ? throw new ValidationException(parameter, "is required")
        : value < 0 ? throw new ValidationException(parameter, "must not be negative")
        : value.Value;
}
