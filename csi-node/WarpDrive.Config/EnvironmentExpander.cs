using System.Text;

namespace WarpDrive.Config;

/// <summary>
/// Expands <c>${VAR}</c> in a scalar from the environment. <c>$${X}</c> is an escape for a literal <c>${X}</c>;
/// any other <c>$</c> is left alone. An unset variable is an error rather than an empty string, so a missing
/// secret reference or path fails at load instead of at first use.
/// </summary>
internal static class EnvironmentExpander
{
    public static string Expand(string value, string key, Func<string, string?> environment)
    {
        if (!value.Contains('$', StringComparison.Ordinal))
        {
            return value;
        }

        var result = new StringBuilder(value.Length);
        var i = 0;
        while (i < value.Length)
        {
            if (value[i] != '$')
            {
                result.Append(value[i++]);
                continue;
            }

            if (At(value, i + 1, "${"))
            {
                // "$${" → literal "${", and the rest up to "}" is copied as is by the loop.
                result.Append("${");
                i += 3;
                continue;
            }

            if (!At(value, i + 1, "{"))
            {
                result.Append(value[i++]);
                continue;
            }

            var close = value.IndexOf('}', i + 2);
            if (close < 0)
            {
                throw new ConfigException(key, "\"${\" without a closing \"}\" (write $${ for a literal ${)");
            }

            var name = value[(i + 2)..close];
            if (!IsVariableName(name))
            {
                throw new ConfigException(key, $"\"${{{name}}}\" is not a valid variable reference (letters, digits and _, not starting with a digit)");
            }

            var replacement = environment(name)
                ?? throw new ConfigException(key, $"environment variable {name} is not set (referenced as ${{{name}}})");
            result.Append(replacement);
            i = close + 1;
        }

        return result.ToString();
    }

    private static bool At(string value, int index, string expected) =>
        index + expected.Length <= value.Length && string.CompareOrdinal(value, index, expected, 0, expected.Length) == 0;

    private static bool IsVariableName(string name) =>
        name.Length > 0
        && !char.IsAsciiDigit(name[0])
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
