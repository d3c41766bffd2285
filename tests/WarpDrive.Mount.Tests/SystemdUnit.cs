using System.Reflection;
using System.Text;

namespace WarpDrive.Mount.Tests;

/// <summary>
/// A shipped systemd unit (deploy/systemd), read the way systemd reads it, so a test can run its Exec lines as systemd
/// would: systemd is not PID 1 on the test machines. Only what our units use: [Service] keys, Environment=, the
/// '-' prefix (failure ignored), ${VAR}/$VAR expansion and $$ for a literal $.
/// </summary>
public sealed class SystemdUnit
{
    private readonly List<(string Key, string Value)> _settings = [];

    private SystemdUnit(string path)
    {
        var section = "";
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line.StartsWith('['))
            {
                section = line;
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (section == "[Service]" && equals > 0)
            {
                _settings.Add((line[..equals], line[(equals + 1)..]));
            }
        }
    }

    public static string RepoRoot { get; } = typeof(SystemdUnit).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "RepoRoot").Value!;

    /// <summary>deploy/systemd/<paramref name="name"/>.</summary>
    public static SystemdUnit Load(string name) => new(Path.Combine(RepoRoot, "deploy", "systemd", name));

    public IReadOnlyList<string> All(string key) => [.. _settings.Where(s => s.Key == key).Select(s => s.Value)];

    public string? One(string key) => All(key) is [.., var last] ? last : null;

    /// <summary>The unit's Environment= assignments.</summary>
    public Dictionary<string, string> Environment()
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var assignment in All("Environment"))
        {
            var equals = assignment.IndexOf('=', StringComparison.Ordinal);
            environment[assignment[..equals]] = assignment[(equals + 1)..];
        }

        return environment;
    }

    /// <summary>An Exec line as systemd runs it: whether a failure is ignored ('-'), and argv after expansion.</summary>
    public static (bool IgnoreFailure, string[] Argv) Command(string line, IReadOnlyDictionary<string, string> environment)
    {
        var ignore = false;
        while (line.Length > 0 && line[0] is '-' or '@' or '+' or '!' or ':')
        {
            ignore |= line[0] == '-';
            line = line[1..];
        }

        var argv = new List<string>();
        var word = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\'' || c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ' ' && !quoted)
            {
                Flush();
            }
            else if (c == '$' && i + 1 < line.Length && line[i + 1] == '$')
            {
                word.Append('$');
                i++;
            }
            else if (c == '$' && i + 1 < line.Length && line[i + 1] == '{')
            {
                var end = line.IndexOf('}', i);
                word.Append(environment.GetValueOrDefault(line[(i + 2)..end], ""));
                i = end;
            }
            else
            {
                word.Append(c);
            }
        }

        Flush();
        return (ignore, [.. argv]);

        void Flush()
        {
            if (word.Length > 0)
            {
                argv.Add(word.ToString());
                word.Clear();
            }
        }
    }
}
