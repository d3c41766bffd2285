using WarpDrive.Config;
using WarpDrive.Node.Hosting;

namespace WarpDrive.Node.Commands;

/// <summary>Loads the node config for a command; a bad file is one line on stderr naming the key, and exit code 2.</summary>
internal static class ConfigFile
{
    public static async Task<NodeConfig?> LoadOrReportAsync(string path)
    {
        try
        {
            return ConfigLoader.LoadFile(path);
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync($"warpdrive-node: invalid configuration: {e.Message}").ConfigureAwait(false);
            return null;
        }
    }

    /// <summary><see cref="BackendPreflight"/>: false (after one line on stderr naming the key) when a backend cannot be created.</summary>
    public static async Task<bool> PreflightOrReportAsync(NodeConfig config)
    {
        try
        {
            await BackendPreflight.CheckAsync(config).ConfigureAwait(false);
            return true;
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync($"warpdrive-node: invalid configuration: {e.Message}").ConfigureAwait(false);
            return false;
        }
    }
}
