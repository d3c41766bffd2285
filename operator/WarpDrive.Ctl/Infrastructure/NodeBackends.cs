using WarpDrive.Auth;
using WarpDrive.Backends;
using WarpDrive.Config;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>Backends built exactly as the node agent builds them: from its config file, through credential federation.</summary>
internal static class NodeBackends
{
    /// <summary>Where the agent reads its config when given none (warpdrive-node mount's default).</summary>
    public const string DefaultConfigPath = "/etc/warpdrive/config.yaml";

    /// <summary>The agent's default config, or a one-line error saying it is missing and what to give instead.</summary>
    public static FileInfo DefaultConfig(string alternative)
    {
        var file = new FileInfo(DefaultConfigPath);
        return file.Exists ? file : throw new CtlException($"no --config given and the agent's default {DefaultConfigPath} does not exist: give --config FILE ({alternative})");
    }

    public static NodeConfig LoadConfig(FileInfo file)
    {
        try
        {
            return ConfigLoader.LoadFile(file.FullName);
        }
        catch (ConfigException e)
        {
            throw new CtlException($"{file.FullName}: {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CtlException($"cannot read the config {file.FullName}: {e.Message}");
        }
    }

    /// <summary>The backend called <paramref name="name"/>, or the only one when no name is given.</summary>
    public static WarpDrive.Config.BackendConfig Find(NodeConfig config, string? name)
    {
        if (name is null)
        {
            return config.Backends.Count == 1
                ? config.Backends[0]
                : throw new CtlException($"the config has {config.Backends.Count} backends; choose one with --backend ({Names(config)})", ExitCodes.Usage);
        }

        return config.Backends.FirstOrDefault(b => b.Name == name)
               ?? throw new CtlException($"no backend named '{name}' in the config ({Names(config)})", ExitCodes.Usage);
    }

    public static IBackend Create(NodeConfig config, WarpDrive.Config.BackendConfig backend)
    {
        try
        {
            return CredentialFederation.CreateBackend(config, backend);
        }
        catch (Exception e) when (e is ConfigException or ArgumentException)
        {
            throw new CtlException($"backend '{backend.Name}': {e.Message}");
        }
    }

    /// <summary>Splits <c>BACKEND:PATH</c>; the path is relative to the backend root, without leading or trailing '/'.</summary>
    public static (string Backend, string Path) ParseLocation(string text, string option)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new CtlException($"{option} '{text}' must be BACKEND:PATH (e.g. datasets:train/shard-00)", ExitCodes.Usage);
        }

        return (text[..colon], text[(colon + 1)..].Trim('/'));
    }

    private static string Names(NodeConfig config) => string.Join(", ", config.Backends.Select(b => b.Name));
}
