using System.Globalization;
using WarpDrive.Config;

namespace WarpDrive.Auth;

/// <summary>
/// Typed reads of one backend's <c>auth</c> settings. Errors are <see cref="ConfigException"/>s whose key is the full
/// YAML path (<c>backends[2].auth.role_arn</c>); a message never contains a secret, only key names, variable names
/// and file paths.
/// </summary>
internal sealed class AuthSettings(string keyPrefix, IReadOnlyDictionary<string, string> values)
{
    /// <summary>e.g. <c>backends[2].auth</c>.</summary>
    public string KeyPrefix { get; } = keyPrefix;

    public string Key(string name) => $"{KeyPrefix}.{name}";

    public string? Optional(string name) =>
        values.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;

    public string Required(string name, string why) =>
        Optional(name) ?? throw new ConfigException(Key(name), $"is required {why}");

    /// <summary>The setting, else the environment variable (the variables EKS, AKS and GKE inject), else null.</summary>
    public string? OptionalOrEnvironment(string name, string variable) =>
        Optional(name) ?? (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } v ? v : null);

    /// <summary>A secret referenced by <c>{name}_env</c> (a variable name) or <c>{name}_file</c> (a path); null if neither key is set.</summary>
    public string? Secret(string name)
    {
        if (Optional(name + "_env") is { } variable)
        {
            return Environment.GetEnvironmentVariable(variable) is { Length: > 0 } secret
                ? secret
                : throw new ConfigException(Key(name + "_env"), $"environment variable '{variable}' is not set");
        }
        if (Optional(name + "_file") is { } path)
        {
            try
            {
                return File.ReadAllText(path).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ConfigException(Key(name + "_file"), $"cannot read '{path}': {ReasonOf(e)}");
            }
        }
        return null;
    }

    /// <summary>Why a secret file cannot be read, as a user would say it (never an exception type name).</summary>
    private static string ReasonOf(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        _ => "I/O error",
    };

    /// <summary>"10s", "500ms", "2m", or a bare number of seconds.</summary>
    public TimeSpan Duration(string name, TimeSpan fallback)
    {
        if (Optional(name) is not { } s)
        {
            return fallback;
        }
        return WarpDrive.Backends.BackendConfig.TryParseDuration(s, out var duration)
            ? duration
            : throw new ConfigException(Key(name), "must be a duration like 10s or 500ms");
    }

    public Uri Url(string name, string fallback)
    {
        var text = Optional(name) ?? fallback;
        return Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri
            : throw new ConfigException(Key(name), "must be an absolute http(s) URL");
    }
}
