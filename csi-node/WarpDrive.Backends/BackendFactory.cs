using Microsoft.Extensions.Logging;
using WarpDrive.Backends.Local;

namespace WarpDrive.Backends;

/// <summary>Things a backend may need besides its config map; every property is optional.</summary>
public sealed class BackendServices
{
    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>Creates a backend from its type name and string config map (as written in the agent config).</summary>
public static class BackendFactory
{
    public static IBackend Create(string name, string type, IReadOnlyDictionary<string, string> config, BackendServices? services = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _ = services;
        return type switch
        {
            "local" => new LocalBackend(name, Required(config, "root", type)),
            _ => throw new ArgumentException($"unknown backend type '{type}'", nameof(type)),
        };
    }

    internal static string Required(IReadOnlyDictionary<string, string> config, string key, string type) =>
        config.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value)
            ? value
            : throw new ArgumentException($"backend type '{type}' needs config key '{key}'", nameof(config));
}
