using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;

namespace WarpDrive.Backends.Rclone;

/// <summary>
/// The remote types rclone knows and each one's option names, from <c>rclone config providers</c> (JSON) of the
/// configured binary, read once per binary per process. The rclone backend checks its config against them when it
/// is created, so a misspelt option is an error at start, naming the key, rather than an option rclone ignores.
/// </summary>
/// <remarks>
/// A binary that does not exist is an error: the backend could not serve a byte, and the user learns it at start
/// with the key to fix (<c>rclone_binary</c>) instead of as EIO on every read. A binary that runs but gives no usable
/// answer within <see cref="Timeout"/> (a wrapper script, a very old rclone) only skips the check: the backend may
/// still work, and rclone itself then refuses what it does not know.
/// </remarks>
internal static class RcloneOptions
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private static readonly ConcurrentDictionary<string, Lazy<Catalog>> Catalogs = new(StringComparer.Ordinal);

    /// <summary>Option names by remote type (its prefix, e.g. <c>gcs</c>, and its aliases); null when rclone gave no answer.</summary>
    public sealed record Catalog(IReadOnlyDictionary<string, IReadOnlyList<string>>? Types, string? Unavailable);

    /// <summary>
    /// Checks <paramref name="options"/> (rclone option name → the config key it came from) against the remote type.
    /// Throws <see cref="BackendConfigException"/>; returns a note when the check was skipped, else null.
    /// </summary>
    public static string? Check(string binary, string type, IReadOnlyDictionary<string, string> options)
    {
        var catalog = Catalogs.GetOrAdd(binary, b => new Lazy<Catalog>(() => Load(b))).Value;
        if (catalog.Types is null)
        {
            return catalog.Unavailable;
        }

        if (!catalog.Types.TryGetValue(type, out var known))
        {
            throw new BackendConfigException("type", $"rclone has no remote type \"{type}\" (known: {string.Join(", ", catalog.Types.Keys.Order(StringComparer.Ordinal))})");
        }

        foreach (var (option, key) in options.OrderBy(o => o.Value, StringComparer.Ordinal))
        {
            if (!known.Contains(option, StringComparer.Ordinal))
            {
                var env = key.EndsWith("_env", StringComparison.Ordinal) ? $" (from {key}: option {option} from an environment variable)" : "";
                throw new BackendConfigException(key,
                    $"not an option of rclone remote type {type}{env}; its options: {string.Join(", ", known)}; ours: type, path, rclone_binary, rclone_start_timeout, timeout, retry_base_delay, page_size");
            }
        }

        return null;
    }

    private static Catalog Load(string binary)
    {
        var info = new ProcessStartInfo(binary)
        {
            ArgumentList = { "config", "providers", "--config", "/dev/null", "--ask-password=false" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new Win32Exception("no process");
        }
        catch (Win32Exception e)
        {
            throw new BackendConfigException("rclone_binary",
                $"cannot run \"{binary}\" ({StartFailure(e)}); install rclone (e.g. apt-get install rclone) or set rclone_binary to its path", e);
        }

        using (process)
        {
            process.StandardInput.Close();
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(Timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                return new Catalog(null, $"\"{binary} config providers\" did not answer within {Timeout.TotalSeconds:0}s; rclone options are not checked");
            }

            try
            {
                return process.ExitCode == 0
                    ? new Catalog(Parse(stdout.GetAwaiter().GetResult()), null)
                    : new Catalog(null, $"\"{binary} config providers\" exited with {process.ExitCode}; rclone options are not checked");
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException)
            {
                return new Catalog(null, $"\"{binary} config providers\" gave no provider list; rclone options are not checked");
            }
            finally
            {
                _ = stderr.GetAwaiter().GetResult();
            }
        }
    }

    private static string StartFailure(Win32Exception e) => e.NativeErrorCode switch
    {
        2 => "not found",          // ENOENT
        13 => "permission denied", // EACCES
        _ => "errno " + e.NativeErrorCode.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>[{"Name", "Prefix", "Aliases", "Options": [{"Name"}]}] → options by prefix and by alias.</summary>
    private static Dictionary<string, IReadOnlyList<string>> Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var types = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var provider in document.RootElement.EnumerateArray())
        {
            var options = provider.GetProperty("Options").ValueKind == JsonValueKind.Array
                ? provider.GetProperty("Options").EnumerateArray().Select(o => o.GetProperty("Name").GetString()!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList()
                : [];
            types[provider.GetProperty("Prefix").GetString()!] = options;
            if (provider.TryGetProperty("Aliases", out var aliases) && aliases.ValueKind == JsonValueKind.Array)
            {
                foreach (var alias in aliases.EnumerateArray())
                {
                    types[alias.GetString()!] = options;
                }
            }
        }

        return types.Count > 0 ? types : throw new InvalidOperationException("empty provider list");
    }
}
