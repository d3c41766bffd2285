using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace WarpDrive.Config;

/// <summary>
/// Loads a <see cref="NodeConfig"/> from YAML: parse (YamlDotNet), expand <c>${VAR}</c> in every scalar, bind
/// (refusing unknown keys and ill-typed values), then validate. Anything wrong is a
/// <see cref="ConfigException"/> that names the key; nothing half-loaded is ever returned.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Loads and validates the YAML file at <paramref name="path"/>.</summary>
    public static NodeConfig LoadFile(string path, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        string yaml;
        try
        {
            yaml = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ConfigException("config", $"file \"{path}\" does not exist", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException("config", $"file \"{path}\" cannot be read: {e.Message}", e);
        }

        return LoadYaml(yaml, environment);
    }

    /// <summary>
    /// Loads and validates YAML text. <paramref name="environment"/> resolves <c>${VAR}</c> (null when unset);
    /// it defaults to the process environment.
    /// </summary>
    public static NodeConfig LoadYaml(string yaml, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var root = YamlMap.From(ParseDocument(yaml), "", environment ?? Environment.GetEnvironmentVariable);
        var config = NodeConfigBinder.Bind(root);
        Validate(config);
        return config;
    }

    /// <summary>Holds a config built in code to the same rules as a loaded one.</summary>
    public static void Validate(NodeConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        NodeConfigValidator.Validate(config);
    }

    private static YamlNode? ParseDocument(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            // YamlDotNet's messages give the position and the grammar problem, not the surrounding text.
            throw new ConfigException("config", $"not valid YAML at line {e.Start.Line}, column {e.Start.Column}: {InnermostMessage(e)}", e);
        }

        return stream.Documents.Count switch
        {
            0 => null,
            1 => stream.Documents[0].RootNode,
            _ => throw new ConfigException("config", $"holds {stream.Documents.Count} YAML documents (expected one)"),
        };
    }

    private static string InnermostMessage(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e.Message;
    }
}
