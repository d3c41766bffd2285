using Microsoft.Extensions.Logging;
using WarpDrive.Auth;
using WarpDrive.Backends;
using WarpDrive.Config;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// The checks of a loaded config that need this machine: each backend is created (and disposed at once) through
/// the same path the mount uses, so whatever creation judges — a local root that does not exist, a credential
/// variable that is unset or not in its form (an account key that is not base64), an rclone option the remote does
/// not have — is a <see cref="ConfigException"/> naming the key before anything is opened or mounted. Creating a
/// backend touches no network (credentials and rclone's daemon are fetched and started by the first operation).
/// </summary>
public static class BackendPreflight
{
    public static async Task CheckAsync(NodeConfig config, ILoggerFactory? loggers = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var services = new BackendServices { LoggerFactory = loggers };
        for (var i = 0; i < config.Backends.Count; i++)
        {
            var backend = config.Backends[i];
            if (backend.Auth.Source == AuthSources.Pod)
            {
                // Only the CSI plugin has pods, and their tokens; this check runs for the standalone agent.
                throw new ConfigException($"backends[{i}].auth.source",
                    "\"pod\" reads with each Kubernetes pod's own identity, which only the CSI plugin has; the standalone agent reads with the node's (source: node)");
            }

            var made = CredentialFederation.CreateBackend(config, backend, services);
            await made.DisposeAsync().ConfigureAwait(false);
        }
    }
}
