using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace WarpDrive.Config;

/// <summary>
/// Reads one YAML mapping while tracking its key path (<c>backends[1].cache</c>) and which keys the binder asked
/// for, so <see cref="RejectUnknownKeys"/> can refuse typos. Every scalar passes through
/// <see cref="EnvironmentExpander"/> before it is converted. Conversion errors name the key, the value and the
/// expected form.
/// </summary>
internal sealed class YamlMap
{
    private readonly Dictionary<string, YamlNode> _entries = new(StringComparer.Ordinal);
    private readonly HashSet<string> _asked = new(StringComparer.Ordinal);
    private readonly Func<string, string?> _environment;

    private YamlMap(string path, Func<string, string?> environment)
    {
        Path = path;
        _environment = environment;
    }

    /// <summary>Dotted path of this map; empty for the document root.</summary>
    public string Path { get; }

    public static YamlMap From(YamlNode? node, string path, Func<string, string?> environment)
    {
        var map = new YamlMap(path, environment);
        if (node is null || IsNull(node))
        {
            return map;
        }

        if (node is not YamlMappingNode mapping)
        {
            throw new ConfigException(path.Length == 0 ? "config" : path, "expected a map of keys to values");
        }

        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                throw new ConfigException(path.Length == 0 ? "config" : path, "keys must be plain strings");
            }

            map._entries[key] = value;
        }

        return map;
    }

    public string KeyOf(string name) => Path.Length == 0 ? name : $"{Path}.{name}";

    /// <summary>The expanded text of a scalar, or null when the key is absent or null.</summary>
    public string? Scalar(string name)
    {
        _asked.Add(name);
        if (!_entries.TryGetValue(name, out var node) || IsNull(node))
        {
            return null;
        }

        return ScalarText(node, KeyOf(name));
    }

    public string String(string name, string fallback) => Scalar(name) ?? fallback;

    public bool Bool(string name, bool fallback)
    {
        var text = Scalar(name);
        if (text is null)
        {
            return fallback;
        }

        return text.ToLowerInvariant() switch
        {
            "true" => true,
            "false" => false,
            _ => throw new ConfigException(KeyOf(name), $"\"{text}\" is not a boolean (true, false)"),
        };
    }

    public int Int(string name, int fallback)
    {
        var text = Scalar(name);
        if (text is null)
        {
            return fallback;
        }

        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ConfigException(KeyOf(name), $"\"{text}\" is not a whole number");
    }

    public double Double(string name, double fallback)
    {
        var text = Scalar(name);
        if (text is null)
        {
            return fallback;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value
            : throw new ConfigException(KeyOf(name), $"\"{text}\" is not a number (e.g. 0.9)");
    }

    public long Size(string name, long fallback)
    {
        var text = Scalar(name);
        if (text is null)
        {
            return fallback;
        }

        return ByteSize.TryParse(text, out var bytes)
            ? bytes
            : throw new ConfigException(KeyOf(name), $"\"{text}\" is not a size (e.g. 500GB, 4MB, 512KiB, 1.5GB, 1024; KB/MB/GB are 1024-based)");
    }

    public TimeSpan Duration(string name, TimeSpan fallback)
    {
        var text = Scalar(name);
        if (text is null)
        {
            return fallback;
        }

        return Config.Duration.TryParse(text, out var duration)
            ? duration
            : throw new ConfigException(KeyOf(name), $"\"{text}\" is not a duration (e.g. 500ms, 5s, 10m, 24h, 1h30m)");
    }

    /// <summary>A nested map; an absent or null key gives an empty map.</summary>
    public YamlMap Map(string name)
    {
        _asked.Add(name);
        _entries.TryGetValue(name, out var node);
        return From(node, KeyOf(name), _environment);
    }

    /// <summary>A map found elsewhere (e.g. a list item) read with the same environment, under <paramref name="path"/>.</summary>
    public YamlMap Fork(YamlNode node, string path) => From(node, path, _environment);

    /// <summary>The items of a sequence; an absent or null key gives none.</summary>
    public IReadOnlyList<YamlNode> Sequence(string name)
    {
        _asked.Add(name);
        if (!_entries.TryGetValue(name, out var node) || IsNull(node))
        {
            return [];
        }

        return node is YamlSequenceNode sequence
            ? sequence.Children.ToList()
            : throw new ConfigException(KeyOf(name), "expected a list (items starting with \"- \")");
    }

    /// <summary>A list of single values (e.g. <c>[a, b]</c>), each expanded; an absent or null key gives none.</summary>
    public IReadOnlyList<string> StringList(string name)
    {
        var items = Sequence(name);
        var result = new List<string>(items.Count);
        for (var i = 0; i < items.Count; i++)
        {
            result.Add(ScalarText(items[i], $"{KeyOf(name)}[{i}]"));
        }

        return result;
    }

    /// <summary>
    /// Every key not asked for yet, as expanded strings; for free-form maps such as a backend's config.
    /// Values are only stringified scalars, so a nested map or list is refused.
    /// </summary>
    public Dictionary<string, string> RemainingScalars()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, node) in _entries)
        {
            if (_asked.Add(name))
            {
                result[name] = IsNull(node) ? "" : ScalarText(node, KeyOf(name));
            }
        }

        return result;
    }

    /// <summary>Refuses any key the binder never asked for, naming it and listing the keys allowed here.</summary>
    public void RejectUnknownKeys()
    {
        foreach (var name in _entries.Keys)
        {
            if (!_asked.Contains(name))
            {
                var known = string.Join(", ", _asked.Order(StringComparer.Ordinal));
                throw new ConfigException(KeyOf(name), $"unknown key (allowed here: {known})");
            }
        }
    }

    private string ScalarText(YamlNode node, string key) =>
        node is YamlScalarNode scalar
            ? EnvironmentExpander.Expand(scalar.Value ?? "", key, _environment)
            : throw new ConfigException(key, "expected a single value, not a map or list");

    /// <summary>YAML's null: an empty value, <c>~</c> or <c>null</c>, when not quoted.</summary>
    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain or YamlDotNet.Core.ScalarStyle.Any } scalar
        && (string.IsNullOrEmpty(scalar.Value) || scalar.Value is "~" or "null" or "Null" or "NULL");
}
