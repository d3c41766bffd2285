namespace WarpDrive.Config;

/// <summary>
/// A configuration that cannot be used. <see cref="Exception.Message"/> starts with <see cref="Key"/> and says
/// what is wrong and what is allowed; it never carries the value of a secret.
/// </summary>
public sealed class ConfigException : Exception
{
    /// <summary>The YAML key at fault, e.g. <c>backends[1].type</c>; <c>config</c> for the file as a whole.</summary>
    public string Key { get; }

    public ConfigException(string key, string problem)
        : base($"{key}: {problem}") => Key = key;

    public ConfigException(string key, string problem, Exception inner)
        : base($"{key}: {problem}", inner) => Key = key;

    public ConfigException()
        : this("config", "invalid configuration")
    {
    }

    public ConfigException(string message)
        : this("config", message)
    {
    }

    public ConfigException(string message, Exception innerException)
        : this("config", message, innerException)
    {
    }
}
