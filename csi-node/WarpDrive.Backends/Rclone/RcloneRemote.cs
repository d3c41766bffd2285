namespace WarpDrive.Backends.Rclone;

/// <summary>
/// The rclone remote a backend's config map describes: <c>type</c> is the rclone remote type, <c>path</c> the
/// path inside the remote, every other key (except the shared knobs and our own <c>rclone_*</c> keys) an option of
/// that remote. <c>X_env</c> keys name an environment variable whose value becomes option <c>X</c>.
/// </summary>
internal sealed class RcloneRemote
{
    /// <summary>The name the remote gets in rcd's in-memory config; one rcd serves exactly one remote.</summary>
    public const string Name = "warpdrive";

    // Keys the backend itself reads; they are never forwarded to rclone. page_size is accepted and ignored:
    // operations/list returns a whole directory and rclone pages internally (e.g. s3's list_chunk option).
    private static readonly HashSet<string> OwnKeys = ["type", "path", "timeout", "retry_base_delay", "page_size"];

    // Option names that hold credentials in rclone's backends (pass, password, secret_access_key, key, sas_url,
    // token, service_account_credentials, ...): their values are redacted from anything we log or throw.
    private static readonly string[] SecretMarkers = ["pass", "secret", "key", "token", "sas", "credential", "auth", "bearer"];

    public RcloneRemote(BackendConfig config)
    {
        RemoteType = config.Required("type");
        var path = config.Optional("path") ?? "";
        if (path.Contains(']', StringComparison.Ordinal))
        {
            // rc-serve finds the fs in "/[fs]/object" by the first ']'.
            throw new BackendConfigException("path", "must not contain ']' (backend type rclone)");
        }
        FsString = Name + ":" + path;
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        var optionKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        var secrets = new List<string>();
        foreach (var (key, value) in config.Values)
        {
            if (OwnKeys.Contains(key) || key.StartsWith("rclone_", StringComparison.Ordinal))
            {
                continue;
            }
            if (key.EndsWith("_env", StringComparison.Ordinal) && key.Length > 4)
            {
                // The variable's value is read here, once, and handed to rcd in memory only.
                var secret = config.SecretFromEnvironment(key)!;
                parameters[key[..^4]] = secret;
                optionKeys[key[..^4]] = key;
                secrets.Add(secret);
                continue;
            }
            parameters[key] = value;
            optionKeys[key] = key;
            if (LooksSecret(key))
            {
                secrets.Add(value);
            }
        }
        Parameters = parameters;
        OptionKeys = optionKeys;
        Redactor = new SecretRedactor(secrets);
    }

    public string RemoteType { get; }

    /// <summary>"warpdrive:path": the fs every rc call names. It carries no option values, so no secrets.</summary>
    public string FsString { get; }

    /// <summary>Options for <c>config/create</c> (plain text; rclone obscures password options itself).</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    public SecretRedactor Redactor { get; }

    /// <summary>Each rclone option name → the config key it came from (<c>X</c> or <c>X_env</c>), for error messages.</summary>
    public IReadOnlyDictionary<string, string> OptionKeys { get; }

    private static bool LooksSecret(string key) => SecretMarkers.Any(m => key.Contains(m, StringComparison.OrdinalIgnoreCase));
}
