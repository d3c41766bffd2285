using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Auth.Providers;
using WarpDrive.Backends;
using WarpDrive.Config;
using BackendConfig = WarpDrive.Config.BackendConfig;

namespace WarpDrive.Auth;

/// <summary>
/// Creates a backend with the credentials its <c>auth</c> section asks for: the node host calls this instead of
/// <see cref="BackendFactory.Create"/>. Methods other than <c>none</c> return an <see cref="AuthenticatedBackend"/>.
/// </summary>
public static class CredentialFederation
{
    /// <summary>Which backend types each method can serve, by the credential form it yields.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> SupportedTypes { get; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
    {
        [AuthMethods.ManagedIdentity] = [BackendTypes.AzureBlob],
        [AuthMethods.ServicePrincipal] = [BackendTypes.AzureBlob],
        [AuthMethods.WorkloadIdentity] = [BackendTypes.AzureBlob],
        [AuthMethods.OidcFederation] = [BackendTypes.S3],
        [AuthMethods.GcpWif] = [BackendTypes.Gcs],
        // azureblob would need a shared-key slot in BackendServices; see README "Not yet".
        [AuthMethods.StaticKeyVault] = [BackendTypes.S3],
        [AuthMethods.Static] = [BackendTypes.S3, BackendTypes.AzureBlob, BackendTypes.Gcs],
        [AuthMethods.None] = BackendTypes.All,
    };

    /// <summary>Creates <paramref name="backend"/>, one of <paramref name="config"/>'s backends (its position names config keys in errors).</summary>
    public static IBackend CreateBackend(NodeConfig config, BackendConfig backend, BackendServices? services = null, FederationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var index = -1;
        for (var i = 0; i < config.Backends.Count; i++)
        {
            if (ReferenceEquals(config.Backends[i], backend))
            {
                index = i;
            }
        }
        return CreateBackend(backend, index < 0 ? throw new ArgumentException("not one of the config's backends", nameof(backend)) : index, services, options);
    }

    /// <summary>
    /// Creates the backend at <c>backends[<paramref name="index"/>]</c>. Throws <see cref="ConfigException"/> (key
    /// <c>backends[i].auth.*</c>) for an unknown method, a method that cannot serve the backend's type, or missing
    /// settings, and for bad backend config (<see cref="BackendFactory.Create"/>'s <see cref="BackendConfigException"/>,
    /// named <c>backends[i].config.*</c>).
    /// No identity endpoint is called here: the first operation fetches the first credential.
    /// </summary>
    public static IBackend CreateBackend(BackendConfig backend, int index, BackendServices? services = null, FederationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        services ??= new BackendServices();
        options ??= FederationOptions.Default;
        var loggers = services.LoggerFactory ?? NullLoggerFactory.Instance;
        var logger = loggers.CreateLogger("WarpDrive.Auth");
        var prefix = $"backends[{index}].auth";
        var method = backend.Auth.Method;
        if (!SupportedTypes.TryGetValue(method, out var types))
        {
            throw new ConfigException(prefix + ".method", $"unknown auth method '{method}'; use one of: {string.Join(", ", AuthMethods.All)}");
        }
        if (!types.Contains(backend.Type))
        {
            throw new ConfigException(prefix + ".method", $"'{method}' cannot authenticate a '{backend.Type}' backend; for {backend.Type} use one of: "
                + string.Join(", ", SupportedTypes.Where(p => p.Value.Contains(backend.Type)).Select(p => p.Key)));
        }
        if (method == AuthMethods.None)
        {
            try
            {
                return BackendFactory.Create(backend.Name, backend.Type, backend.Config, services);
            }
            catch (BackendConfigException e)
            {
                throw Named(e, backend, index);
            }
        }

        var provider = CreateProvider(backend, index, options, logger);
        try
        {
            var binding = provider.Binding;
            var config = backend.Config;
            if (binding.ExtraBackendConfig is { Count: > 0 } extra)
            {
                var merged = new Dictionary<string, string>(backend.Config, StringComparer.Ordinal);
                foreach (var (key, value) in extra)
                {
                    merged[key] = value;
                }
                config = merged;
            }
            var inner = BackendFactory.Create(backend.Name, backend.Type, config, new BackendServices
            {
                LoggerFactory = services.LoggerFactory,
                AwsCredentials = binding.Aws ?? services.AwsCredentials,
                AzureCredential = binding.Azure ?? services.AzureCredential,
                GcsTokenSource = binding.GcsToken ?? services.GcsTokenSource,
            });
            return new AuthenticatedBackend(inner, provider, logger);
        }
        catch (BackendConfigException e)
        {
            provider.Dispose();
            throw Named(e, backend, index);
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The backend's complaint under its full YAML key: <c>backends[i].config.root</c>, or <c>backends[i].auth.X</c>
    /// when the key reached the backend from the auth section (static azureblob keys are passed on that way).
    /// </summary>
    private static ConfigException Named(BackendConfigException e, BackendConfig backend, int index)
    {
        var section = !backend.Config.ContainsKey(e.ConfigKey) && backend.Auth.Settings.ContainsKey(e.ConfigKey) ? "auth" : "config";
        return new ConfigException($"backends[{index}].{section}.{e.ConfigKey}", e.Problem, e);
    }

    internal static ICredentialProvider CreateProvider(BackendConfig backend, int index, FederationOptions options, ILogger logger)
    {
        var settings = new AuthSettings($"backends[{index}].auth", backend.Auth.Settings);
        var who = options.Principal is { } principal ? $"{backend.Name} for {principal}" : backend.Name;
        var context = new ProviderContext(who, backend.Auth.Method, backend.Type, settings, RefreshPolicy.From(settings), options, options.Audit ?? AuthAudit.Shared, logger);
        return CreateProvider(context);
    }

    private static ICredentialProvider CreateProvider(ProviderContext context) => context.Method switch
    {
        AuthMethods.ManagedIdentity or AuthMethods.ServicePrincipal or AuthMethods.WorkloadIdentity => new AzureIdentityProvider(context),
        AuthMethods.OidcFederation => new OidcFederationProvider(context),
        AuthMethods.GcpWif => GcpWorkloadIdentity.Create(context),
        AuthMethods.StaticKeyVault => new KeyVaultStaticProvider(context),
        AuthMethods.Static => StaticCredentials.Create(context),
        _ => new NoCredentials(context.Method),
    };
}
