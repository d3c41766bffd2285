namespace WarpDrive.Backends;

/// <summary>
/// A backend's <c>config</c> map cannot be used. <see cref="ConfigKey"/> is the key at fault (<c>root</c>,
/// <c>account_key_env</c>); the node host, which knows the backend's position, turns it into the full YAML key
/// (<c>backends[2].config.root</c>). <see cref="Problem"/> says what is wrong and never holds a secret value.
/// An <see cref="ArgumentException"/>, so callers that catch bad arguments still do.
/// </summary>
public sealed class BackendConfigException : ArgumentException
{
    public BackendConfigException(string configKey, string problem)
        : base($"config.{configKey}: {problem}")
    {
        ConfigKey = configKey;
        Problem = problem;
    }

    public BackendConfigException(string configKey, string problem, Exception inner)
        : base($"config.{configKey}: {problem}", inner)
    {
        ConfigKey = configKey;
        Problem = problem;
    }

    public BackendConfigException()
        : this("", "invalid backend configuration")
    {
    }

    public BackendConfigException(string message)
        : this("", message)
    {
    }

    /// <summary>The key inside the backend's config map, e.g. <c>root</c>.</summary>
    public string ConfigKey { get; } = "";

    /// <summary>What is wrong and what is allowed, without the key.</summary>
    public string Problem { get; } = "";
}
