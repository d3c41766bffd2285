using k8s.Models;
using WarpDrive.Operator.Resources;
using YamlDotNet.Serialization;

namespace WarpDrive.Operator.Rendering;

/// <summary>
/// Turns the cluster's WarpDataSources into one node's agent configuration. Pure: same sources and node, same bytes
/// (sources are ordered, maps sorted), so the ConfigMap only changes when the node's view really changes.
/// <para>
/// Two documents are produced. <c>config.yaml</c> follows the agent's standalone schema exactly (docs/configuration.md)
/// and is checked with the agent's own validator; <c>sources.yaml</c> carries what that schema has no place for (which
/// namespaces may mount a source inline, per-source cache policy) for the CSI node plugin.
/// </para>
/// <para>
/// One bad source must not take a node down: the agent refuses a whole file with one invalid backend, so each
/// backend is validated alone first, and a source that fails, or whose mount path another source already holds,
/// is left out and reported in <see cref="NodeConfigRendering.Rejected"/> for its status.
/// </para>
/// </summary>
public sealed class NodeConfigRenderer(OperatorOptions options)
{
    private static readonly ISerializer Yaml = new SerializerBuilder()
        .DisableAliases()
        .WithQuotingNecessaryStrings()
        .Build();

    private readonly CredentialsLayout credentials = new(options);

    /// <param name="controlPlaneUrl">Where telemetry goes (the Service's ClusterIP URL); null: its DNS name.</param>
    public NodeConfigRendering Render(V1Node node, IEnumerable<WarpDataSource> sources, SecretKeyIndex secretKeys, string? controlPlaneUrl = null)
    {
        // Oldest first: when two sources claim one mount path, the one that had it keeps it.
        var selected = sources
            .Where(s => NodeSelection.Selects(s, node))
            .OrderBy(s => s.Metadata.CreationTimestamp ?? DateTime.MaxValue)
            .ThenBy(s => SourceNames.Namespace(s), StringComparer.Ordinal)
            .ThenBy(s => s.Metadata.Name, StringComparer.Ordinal)
            .ToList();

        var backends = new List<(WarpDataSource Source, Dictionary<string, object> Backend)>();
        var rejected = new List<RejectedSource>();
        var mountPaths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var source in selected)
        {
            var backend = Backend(source, secretKeys);
            var path = SourceNames.MountPath(source);
            if (mountPaths.TryGetValue(path, out var holder))
            {
                rejected.Add(new RejectedSource(SourceNames.VolumeHandle(source), $"mount path {path} is already used by {holder}"));
                continue;
            }

            var problem = Validate([backend]);
            if (problem is not null)
            {
                rejected.Add(new RejectedSource(SourceNames.VolumeHandle(source), problem));
                continue;
            }

            mountPaths[path] = SourceNames.VolumeHandle(source);
            backends.Add((source, backend));
        }

        var config = Serialize(Document(backends.Select(b => b.Backend), controlPlaneUrl));
        // Backends valid one by one are valid together unless names or paths clash, which was checked above.
        WarpDrive.Config.ConfigLoader.LoadYaml(config, NoEnvironment);

        var catalog = new Dictionary<string, object>
        {
            ["sources"] = backends.Select(b => SourceEntry(b.Source)).ToList(),
        };
        return new NodeConfigRendering(
            config,
            Serialize(catalog),
            backends.Select(b => SourceNames.VolumeHandle(b.Source)).ToList(),
            rejected);
    }

    private Dictionary<string, object> Document(IEnumerable<Dictionary<string, object>> backends, string? controlPlaneUrl = null)
    {
        var document = new Dictionary<string, object>
        {
            ["mount_point"] = options.MountPoint,
            // Pods read the tree as whatever user they run as.
            ["allow_other"] = true,
            ["cache"] = new Dictionary<string, object>
            {
                ["path"] = options.CachePath,
                ["max_size"] = options.CacheMaxSize,
                ["block_size"] = options.CacheBlockSize,
            },
            ["backends"] = backends.ToList(),
        };
        if (options.ControlPlaneEnabled)
        {
            document["telemetry"] = new Dictionary<string, object>
            {
                ["enabled"] = true,
                ["sink"] = "http",
                ["http_url"] = controlPlaneUrl ?? options.ControlPlaneUrl,
                // The projected token of the node's service account, audience warpdrive-control-plane (TokenReview).
                ["token_file"] = options.ControlPlaneTokenFile,
                // Per-minute sums on the node: one event per (user, path, op) instead of one per read.
                ["rollup"] = true,
            };
        }

        return document;
    }

    private Dictionary<string, object> Backend(WarpDataSource source, SecretKeyIndex secretKeys)
    {
        var backend = new Dictionary<string, object>
        {
            ["name"] = SourceNames.BackendName(source),
            ["type"] = source.Spec.Backend.Type,
            ["mount_path"] = SourceNames.MountPath(source),
            // Tenancy: the CSI plugin lets a pod mount the source only from these namespaces.
            ["namespace"] = SourceNames.Namespace(source),
            ["allowed_namespaces"] = AllowedNamespaces(source),
        };
        if (source.Spec.Backend.Config is { Count: > 0 } config)
        {
            backend["config"] = Sorted(config);
        }

        if (source.Spec.Auth is { } auth)
        {
            backend["auth"] = Auth(SourceNames.Namespace(source), auth, secretKeys);
        }

        return backend;
    }

    private Dictionary<string, object> Auth(string ns, AuthSpec auth, SecretKeyIndex secretKeys)
    {
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in auth.Settings ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }

        // Files the operator provides win over anything the user wrote: only these paths exist in the agent's pod.
        if (auth.SecretRef is { } reference)
        {
            foreach (var key in secretKeys.KeysOf(ns, reference.Name))
            {
                settings[CredentialsLayout.FileSetting(key)] = credentials.SecretFile(ns, reference.Name, key);
            }
        }

        if (CredentialsLayout.UsesServiceAccountToken(auth))
        {
            settings["token_file"] = credentials.TokenFile(ns, auth.ServiceAccountName!);
        }

        var result = new Dictionary<string, object> { ["method"] = auth.Method };
        // Only written for pod identity: "node" is the agent's default, so the ConfigMaps of existing sources keep
        // their bytes (and hash) and no node agent reloads because of this field.
        if (CredentialsLayout.ReadsWithPodIdentity(auth))
        {
            result["source"] = AuthSources.Pod;
        }

        foreach (var (key, value) in settings)
        {
            result[key] = Escape(value);
        }

        return result;
    }

    private static List<string> AllowedNamespaces(WarpDataSource source) =>
        [.. new[] { SourceNames.Namespace(source) }.Concat(source.Spec.AllowedNamespaces ?? []).Distinct(StringComparer.Ordinal)];

    private static Dictionary<string, object> SourceEntry(WarpDataSource source)
    {
        var ns = SourceNames.Namespace(source);
        var entry = new Dictionary<string, object>
        {
            ["namespace"] = ns,
            ["name"] = source.Metadata.Name,
            ["backend"] = SourceNames.BackendName(source),
            ["mount_path"] = SourceNames.MountPath(source),
            ["allowed_namespaces"] = AllowedNamespaces(source),
        };
        if (source.Spec.Cache is { } cache)
        {
            var policy = new Dictionary<string, object>();
            if (cache.ReadaheadBlocks is { } readahead)
            {
                policy["readahead_blocks"] = readahead;
            }

            if (cache.Pin is { } pin)
            {
                policy["pin"] = pin;
            }

            if (cache.Share is { } share)
            {
                policy["share"] = share;
            }

            if (cache.MetadataTtl is { } ttl)
            {
                policy["metadata_ttl"] = ttl;
            }

            entry["cache"] = policy;
        }

        return entry;
    }

    private string? Validate(IEnumerable<Dictionary<string, object>> backends)
    {
        try
        {
            WarpDrive.Config.ConfigLoader.LoadYaml(Serialize(Document(backends)), NoEnvironment);
            return null;
        }
        catch (WarpDrive.Config.ConfigException e)
        {
            // The agent's messages name keys and never print secret values; the key is rewritten into the
            // WarpDataSource field the user wrote, so the condition says what to fix there.
            return RejectionSentence(e);
        }
    }

    /// <summary>
    /// <c>backends[0].config.root: is required</c> → <c>spec.backend.config.root: is required</c>: the agent's key of
    /// the one rendered backend as the source's own field, never an exception's type name or inner messages.
    /// </summary>
    internal static string RejectionSentence(WarpDrive.Config.ConfigException error)
    {
        var problem = error.Message.StartsWith(error.Key + ": ", StringComparison.Ordinal) ? error.Message[(error.Key.Length + 2)..] : error.Message;
        var key = System.Text.RegularExpressions.Regex.Replace(error.Key, @"^backends\[\d+\]\.?", "");
        var field = key switch
        {
            "" or "backends" => "spec.backend",
            "type" => "spec.backend.type",
            "mount_path" => "spec.backend.mountPath",
            "name" => "metadata.name",
            _ when key.StartsWith("config", StringComparison.Ordinal) => "spec.backend." + key,
            "auth.method" => "spec.auth.method",
            "auth.source" => "spec.auth.source",
            _ when key.StartsWith("auth.", StringComparison.Ordinal) => "spec.auth.settings." + key["auth.".Length..],
            _ => "spec.backend (" + key + ")",
        };
        return StatusText.Sentence($"{field}: {problem}", $"{field}: the node agent refuses this setting");
    }

    private static Dictionary<string, object> Sorted(IDictionary<string, string> map) =>
        map.OrderBy(e => e.Key, StringComparer.Ordinal).ToDictionary(e => e.Key, e => (object)Escape(e.Value));

    /// <summary>
    /// The agent expands <c>${VAR}</c> from its own environment. A tenant's value must never reach into the agent's
    /// environment, so every <c>${</c> is written as the literal <c>$${</c>.
    /// </summary>
    private static string Escape(string value) => value.Replace("${", "$${", StringComparison.Ordinal);

    private static string? NoEnvironment(string name) => null;

    private static string Serialize(object document) => Yaml.Serialize(document);
}

/// <summary>The rendered documents of one node and which sources made it in.</summary>
public sealed record NodeConfigRendering(
    string ConfigYaml,
    string SourcesYaml,
    IReadOnlyList<string> Included,
    IReadOnlyList<RejectedSource> Rejected);

/// <summary>A source left out of a node's config, with the reason (safe to show: names keys, never values).</summary>
public sealed record RejectedSource(string Source, string Reason);

/// <summary>The key names (never the values) of the Secrets sources reference, by namespace and name.</summary>
public sealed class SecretKeyIndex
{
    private readonly Dictionary<(string Namespace, string Name), IReadOnlyList<string>> keys = [];

    public static SecretKeyIndex Empty { get; } = new([]);

    public SecretKeyIndex(IEnumerable<V1Secret> secrets)
    {
        foreach (var secret in secrets)
        {
            var names = (secret.Data?.Keys ?? Enumerable.Empty<string>())
                .Concat(secret.StringData?.Keys ?? Enumerable.Empty<string>())
                .Distinct(StringComparer.Ordinal)
                .Order(StringComparer.Ordinal)
                .ToList();
            keys[(secret.Metadata.NamespaceProperty ?? "default", secret.Metadata.Name)] = names;
        }
    }

    public IReadOnlyList<string> KeysOf(string ns, string name) => keys.TryGetValue((ns, name), out var found) ? found : [];
}
