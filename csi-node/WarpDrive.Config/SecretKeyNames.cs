namespace WarpDrive.Config;

/// <summary>
/// Decides from its name alone whether a key would hold a secret by value. Keys are split into words on
/// <c>_</c> and <c>-</c>. A key is a secret if a word is in <see cref="SecretWords"/> (or it contains one of
/// <see cref="SecretFragments"/>, for camelCase names), unless its last word shows it is a reference to the
/// secret (<see cref="ReferenceWords"/>: <c>client_secret_env</c>, <c>token_file</c>) or a name of something
/// that is not itself secret (<see cref="DescriptiveWords"/>: <c>secret_name</c>, <c>key_vault_url</c>,
/// <c>access_key_id</c>).
/// </summary>
internal static class SecretKeyNames
{
    private static readonly HashSet<string> SecretWords = new(StringComparer.Ordinal)
    {
        "secret", "password", "passwd", "passphrase", "key", "token", "credential", "credentials",
        "sas", "signature", "connection", "apikey",
    };

    private static readonly string[] SecretFragments = ["secret", "password", "passwd", "token", "apikey"];

    private static readonly HashSet<string> ReferenceWords = new(StringComparer.Ordinal) { "env", "file", "path" };

    private static readonly HashSet<string> DescriptiveWords = new(StringComparer.Ordinal)
    {
        "name", "id", "url", "uri", "arn", "version", "prefix", "type",
    };

    public static bool IsReference(string key) => ReferenceWords.Contains(LastWord(key));

    public static bool LooksSecret(string key)
    {
        var words = key.ToLowerInvariant().Split('_', '-');
        var last = words[^1];
        if (ReferenceWords.Contains(last) || DescriptiveWords.Contains(last))
        {
            return false;
        }

        var lower = key.ToLowerInvariant();
        return words.Any(SecretWords.Contains) || SecretFragments.Any(f => lower.Contains(f, StringComparison.Ordinal));
    }

    private static string LastWord(string key) => key.ToLowerInvariant().Split('_', '-')[^1];
}
