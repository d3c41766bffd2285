using Amazon.Runtime;
using Azure.Core;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends.AzureBlob;
using WarpDrive.Backends.Gcs;
using WarpDrive.Backends.Local;
using WarpDrive.Backends.Rclone;
using WarpDrive.Backends.S3;

namespace WarpDrive.Backends;

/// <summary>
/// Things a backend may need besides its config map; every property is optional. Credential properties are the
/// plug-in point for federated identity: when set they win over credentials named in the config map.
/// </summary>
public sealed class BackendServices
{
    public ILoggerFactory? LoggerFactory { get; init; }

    public AWSCredentials? AwsCredentials { get; init; }

    public TokenCredential? AzureCredential { get; init; }

    /// <summary>Returns a current OAuth2 access token for GCS; called per request, so it should cache.</summary>
    public Func<CancellationToken, ValueTask<string>>? GcsTokenSource { get; init; }
}

/// <summary>Creates a backend from its type name and string config map (as written in the agent config).</summary>
public static class BackendFactory
{
    public static IBackend Create(string name, string type, IReadOnlyDictionary<string, string> config, BackendServices? services = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        return type switch
        {
            "local" => CreateLocal(name, new BackendConfig(type, config).Required("root"), config.GetValueOrDefault("serve_in_place")),
            "s3" => new S3Backend(name, config, services?.AwsCredentials),
            "azureblob" => new AzureBlobBackend(name, config, services?.AzureCredential),
            "gcs" => new GcsBackend(name, config, services?.GcsTokenSource),
            "rclone" => new RcloneBackend(name, config, services?.LoggerFactory),
            _ => throw new ArgumentException($"unknown backend type '{type}'", nameof(type)),
        };
    }

    /// <summary>A root that is missing at start is a configuration mistake, not an empty dataset: refuse it by name.</summary>
    private static LocalBackend CreateLocal(string name, string root, string? serveInPlace)
    {
        var mode = SourceFileSystem.ParseMode(serveInPlace)
            ?? throw new BackendConfigException("serve_in_place", $"\"{serveInPlace}\" is not one of auto, true, false");
        return Directory.Exists(root)
            ? new LocalBackend(name, root, inPlace: mode)
            : throw new BackendConfigException("root", $"\"{root}\" does not exist or is not a directory");
    }
}
