namespace WarpDrive.Config;

/// <summary>YAML <c>backends[]</c> entry — one storage backend shown as a directory below the mount point.</summary>
public sealed class BackendConfig
{
    /// <summary>Unique name matching <c>^[a-z0-9][a-z0-9-_]*$</c>.</summary>
    public string Name { get; init; } = "";

    /// <summary>One of <see cref="BackendTypes.All"/>.</summary>
    public string Type { get; init; } = "";

    /// <summary>Absolute, normalized path below the mount point; defaults to "/" + <see cref="Name"/>.</summary>
    public string MountPath { get; init; } = "";

    /// <summary>Backend-specific settings (bucket, container, endpoint, root, …); every value as its YAML text.</summary>
    public IReadOnlyDictionary<string, string> Config { get; init; } = new Dictionary<string, string>();

    public AuthConfig Auth { get; init; } = new();

    /// <summary>
    /// The Kubernetes namespace that owns this data source ("" when it belongs to none). The CSI node plugin lets
    /// a pod mount the source only from this namespace or one in <see cref="AllowedNamespaces"/>.
    /// </summary>
    public string Namespace { get; init; } = "";

    /// <summary>Other namespaces whose pods may mount this source through the CSI node plugin.</summary>
    public IReadOnlyList<string> AllowedNamespaces { get; init; } = [];
}

/// <summary>YAML <c>backends[].auth</c> — how the backend gets credentials. Never holds a secret by value.</summary>
public sealed class AuthConfig
{
    /// <summary>One of <see cref="AuthMethods.All"/>.</summary>
    public string Method { get; init; } = AuthMethods.None;

    /// <summary>
    /// Whose identity reads: <see cref="AuthSources.Node"/> (the node agent's, one mount per source) or
    /// <see cref="AuthSources.Pod"/> (each publishing pod's own service-account token, federated per pod).
    /// </summary>
    public string Source { get; init; } = AuthSources.Node;

    /// <summary>
    /// Every auth key except <c>method</c> and <c>source</c>. Secrets appear only as references: keys ending in <c>_env</c> name an
    /// environment variable, keys ending in <c>_file</c> name a file.
    /// </summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
}
