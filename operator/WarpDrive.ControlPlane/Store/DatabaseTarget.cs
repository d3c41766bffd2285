namespace WarpDrive.ControlPlane.Store;

/// <summary>
/// Where the governance data lives, parsed from <c>sqlite:///path/file.db</c> or <c>postgres://user@host:port/db</c>.
/// A password is never part of the URL: it comes from the environment variable named in the options, so
/// <see cref="Redacted"/> (the only form that goes to logs) cannot leak one.
/// </summary>
public sealed record DatabaseTarget(string Engine, string SqlitePath, string Host, int Port, string User, string Database)
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    public static DatabaseTarget Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.StartsWith("sqlite://", StringComparison.Ordinal))
        {
            var path = url["sqlite://".Length..];
            if (path.Length < 2 || path[0] != '/')
            {
                throw new ArgumentException("database: expected sqlite:///absolute/path/file.db", nameof(url));
            }

            return new DatabaseTarget(Sqlite, path, "", 0, "", "");
        }

        if (url.StartsWith("postgres://", StringComparison.Ordinal) || url.StartsWith("postgresql://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.UserInfo.Length == 0 || uri.AbsolutePath.Length < 2)
            {
                throw new ArgumentException("database: expected postgres://user@host:port/database", nameof(url));
            }

            if (uri.UserInfo.Contains(':', StringComparison.Ordinal))
            {
                // Refuse rather than log or keep a password that was pasted into the URL.
                throw new ArgumentException("database: the URL must not hold a password; name an environment variable for it instead", nameof(url));
            }

            return new DatabaseTarget(Postgres, "", uri.Host, uri.IsDefaultPort || uri.Port < 0 ? 5432 : uri.Port, Uri.UnescapeDataString(uri.UserInfo), uri.AbsolutePath[1..]);
        }

        throw new ArgumentException("database: expected a sqlite:// or postgres:// URL", nameof(url));
    }

    /// <summary>The target as safe to log.</summary>
    public string Redacted() => Engine == Sqlite ? $"sqlite://{SqlitePath}" : $"postgres://{User}@{Host}:{Port}/{Database}";

    public override string ToString() => Redacted();
}
