using System.Globalization;
using System.Text.RegularExpressions;

namespace WarpDrive.Config;

/// <summary>
/// The rules a bound <see cref="NodeConfig"/> must follow. Works on the model, not the YAML, so a config built
/// in code is held to the same rules (<see cref="ConfigLoader.Validate"/>). Each failure is a
/// <see cref="ConfigException"/> naming the YAML key; the first failure wins.
/// </summary>
internal static partial class NodeConfigValidator
{
    private const long MinBlockSize = 64 * ByteSize.KiB;
    private const long MaxBlockSize = 64 * ByteSize.MiB;

    public static void Validate(NodeConfig config)
    {
        RequireAbsolute("mount_point", config.MountPoint);
        ValidateFuse(config.Fuse);
        ValidateCache(config.Cache);
        ValidateBackends(config.Backends);
        RequireAddress("metrics.addr", config.Metrics.Addr);
        ValidateTelemetry(config.Telemetry);
        RequireAddress("control_plane.rest_addr", config.ControlPlane.RestAddr);
        RequirePositive("control_plane.storage_crawl_interval", config.ControlPlane.StorageCrawlInterval);
    }

    private static void ValidateFuse(FuseSettings fuse)
    {
        RequireRange("fuse.workers", fuse.Workers, 1, 64);
        RequireNonNegative("fuse.entry_ttl", fuse.EntryTtl);
        RequireNonNegative("fuse.attr_ttl", fuse.AttrTtl);
        RequireNonNegative("fuse.negative_ttl", fuse.NegativeTtl);
        RequireRange("fuse.dir_cache_entries", fuse.DirCacheEntries, 0, int.MaxValue);
        RequireNonNegative("fuse.dir_cache_ttl", fuse.DirCacheTtl);
        // The kernel keeps max_background in 16 bits.
        RequireRange("fuse.max_background", fuse.MaxBackground, 1, ushort.MaxValue);
        RequireOneOf("fuse.mount_helper", fuse.MountHelper, MountHelpers.All);
    }

    private static void ValidateCache(CacheSettings cache)
    {
        RequireAbsolute("cache.path", cache.Path);
        if (cache.BlockSize < MinBlockSize || cache.BlockSize > MaxBlockSize || (cache.BlockSize & (cache.BlockSize - 1)) != 0)
        {
            throw new ConfigException("cache.block_size",
                $"{ByteSize.Format(cache.BlockSize)} is not allowed (a power of two from 64KiB to 64MiB, e.g. 1MiB, 4MiB)");
        }

        if (cache.MaxSize < cache.BlockSize)
        {
            throw new ConfigException("cache.max_size",
                $"{ByteSize.Format(cache.MaxSize)} is smaller than cache.block_size {ByteSize.Format(cache.BlockSize)} (the cache must hold at least one block)");
        }

        RequireRange("cache.readahead_blocks", cache.ReadaheadBlocks, 0, 256);
        RequireRange("cache.max_parallel_fetch", cache.MaxParallelFetch, 1, 1024);
        if (!(cache.EvictHighWater > 0 && cache.EvictHighWater <= 1))
        {
            throw new ConfigException("cache.evict_high_water",
                $"{Number(cache.EvictHighWater)} is not allowed (0 < evict_low_water < evict_high_water ≤ 1)");
        }

        if (!(cache.EvictLowWater > 0 && cache.EvictLowWater < cache.EvictHighWater))
        {
            throw new ConfigException("cache.evict_low_water",
                $"{Number(cache.EvictLowWater)} is not allowed with evict_high_water {Number(cache.EvictHighWater)} (0 < evict_low_water < evict_high_water ≤ 1)");
        }

        RequireNonNegative("cache.stat_ttl", cache.StatTtl);
        RequireOneOf("cache.passthrough", cache.Passthrough, PassthroughModes.All);
    }

    private static void ValidateBackends(IReadOnlyList<BackendConfig> backends)
    {
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var mountPaths = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < backends.Count; i++)
        {
            var backend = backends[i];
            var key = $"backends[{i}]";
            ValidateName(key, backend.Name, names, i);
            ValidateMountPath(key, backend.MountPath, mountPaths, i);
            RequireOneOf($"{key}.type", backend.Type, BackendTypes.All, "a known backend type");
            ValidateBackendConfig(key, backend);
            RequireOneOf($"{key}.auth.method", backend.Auth.Method, AuthMethods.All, "a known auth method");
            RefuseSecretsByValue($"{key}.auth", backend.Auth.Settings);
            ValidateAuthSource(key, backend);
            ValidateNamespaces(key, backend);
        }
    }

    /// <summary><c>source: pod</c> needs a method that federates a token, of the backend's type.</summary>
    private static void ValidateAuthSource(string key, BackendConfig backend)
    {
        RequireOneOf($"{key}.auth.source", backend.Auth.Source, AuthSources.All);
        if (backend.Auth.Source == AuthSources.Pod
            && !(AuthSources.PodMethods.TryGetValue(backend.Auth.Method, out var type) && type == backend.Type))
        {
            throw new ConfigException($"{key}.auth.source",
                $"\"pod\" federates each pod's service-account token, which only {string.Join(", ", AuthSources.PodMethods.Select(p => $"{p.Key} ({p.Value})"))} can do; "
                + $"a {backend.Type} backend with auth.method {backend.Auth.Method} reads with the node's identity (source: node)");
        }
    }

    /// <summary>Kubernetes namespace names are DNS-1123 labels; anything else could never match a pod's namespace.</summary>
    private static void ValidateNamespaces(string key, BackendConfig backend)
    {
        if (backend.Namespace.Length > 0 && !IsNamespaceName(backend.Namespace))
        {
            throw new ConfigException($"{key}.namespace",
                $"\"{backend.Namespace}\" is not a Kubernetes namespace name (lower-case letters, digits and -, at most 63, e.g. team-a)");
        }

        for (var i = 0; i < backend.AllowedNamespaces.Count; i++)
        {
            var name = backend.AllowedNamespaces[i];
            if (!IsNamespaceName(name))
            {
                throw new ConfigException($"{key}.allowed_namespaces[{i}]",
                    $"\"{name}\" is not a Kubernetes namespace name (lower-case letters, digits and -, at most 63, e.g. team-a)");
            }
        }
    }

    private static bool IsNamespaceName(string name) => name.Length <= 63 && NamespaceName().IsMatch(name);

    private static void ValidateName(string key, string name, Dictionary<string, int> seen, int index)
    {
        if (name.Length == 0)
        {
            throw new ConfigException($"{key}.name", "is required (lower-case letters, digits, - and _, e.g. imagenet)");
        }

        if (!BackendName().IsMatch(name))
        {
            throw new ConfigException($"{key}.name", $"\"{name}\" is not allowed (must match ^[a-z0-9][a-z0-9-_]*$)");
        }

        if (!seen.TryAdd(name, index))
        {
            throw new ConfigException($"{key}.name", $"\"{name}\" is already used by backends[{seen[name]}] (names must be unique)");
        }
    }

    private static void ValidateMountPath(string key, string path, Dictionary<string, int> seen, int index)
    {
        var mountKey = $"{key}.mount_path";
        if (!path.StartsWith('/'))
        {
            throw new ConfigException(mountKey, $"\"{path}\" is not absolute (it is a path below mount_point, e.g. /imagenet)");
        }

        if (MountPaths.HasParentSegment(path))
        {
            throw new ConfigException(mountKey, $"\"{path}\" contains \"..\" (write the path without climbing up)");
        }

        if (!MountPaths.IsNormalized(path))
        {
            throw new ConfigException(mountKey, $"\"{path}\" is not normalized (write {MountPaths.Normalize(path)})");
        }

        if (path == "/")
        {
            throw new ConfigException(mountKey, "\"/\" is not allowed (each backend lives in its own directory below the mount point, e.g. /imagenet)");
        }

        foreach (var (other, otherIndex) in seen)
        {
            if (other == path)
            {
                throw new ConfigException(mountKey, $"\"{path}\" is already used by backends[{otherIndex}] (mount paths must be unique)");
            }
        }

        seen[path] = index;
    }

    private static void ValidateBackendConfig(string key, BackendConfig backend)
    {
        // Unknown keys first: "rooot" is a typo of root, and saying only "root is required" would hide it.
        var known = BackendTypes.ConfigKeys[backend.Type];
        if (!BackendTypes.IsOpenEnded(backend.Type))
        {
            foreach (var name in backend.Config.Keys.Order(StringComparer.Ordinal))
            {
                if (!known.Contains(name, StringComparer.Ordinal))
                {
                    throw new ConfigException($"{key}.config.{name}",
                        $"unknown key for type {backend.Type}{Suggestion(name, known)} (allowed: {string.Join(", ", known)})");
                }
            }
        }

        foreach (var choices in BackendTypes.RequiredConfig[backend.Type])
        {
            if (!choices.Any(c => backend.Config.TryGetValue(c, out var value) && value.Length > 0))
            {
                var wanted = string.Join(" or ", choices.Select(c => $"config.{c}"));
                throw new ConfigException($"{key}.config.{choices[0]}", $"is required for type {backend.Type} (set {wanted})");
            }
        }

        if (backend.Type == BackendTypes.Local)
        {
            RequireAbsolute($"{key}.config.root", backend.Config["root"]);
        }

        if (backend.Type == BackendTypes.AzureBlob && backend.Config.TryGetValue("ca_file", out var caFile))
        {
            RequireAbsolute($"{key}.config.ca_file", caFile);
        }

        RefuseSecretsByValue($"{key}.config", backend.Config);
    }

    /// <summary>
    /// Secrets are given by reference only (<c>*_env</c>, <c>*_file</c>). The message names the key and never
    /// the value: the value is the secret.
    /// </summary>
    private static void RefuseSecretsByValue(string prefix, IReadOnlyDictionary<string, string> settings)
    {
        foreach (var name in settings.Keys.Order(StringComparer.Ordinal))
        {
            if (SecretKeyNames.LooksSecret(name))
            {
                throw new ConfigException($"{prefix}.{name}",
                    $"looks like a secret given by value, which is refused (value not shown); give a reference instead: {name}_env (an environment variable name) or {name}_file (a file path)");
            }
        }
    }

    private static void ValidateTelemetry(TelemetrySettings telemetry)
    {
        RequireOneOf("telemetry.sink", telemetry.Sink, TelemetrySinks.All);
        if (!(telemetry.SampleMetadataOps >= 0 && telemetry.SampleMetadataOps <= 1))
        {
            throw new ConfigException("telemetry.sample_metadata_ops",
                $"{Number(telemetry.SampleMetadataOps)} is not a fraction (0 to 1, e.g. 0.1)");
        }

        RequireRange("telemetry.batch_size", telemetry.BatchSize, 1, int.MaxValue);
        RequirePositive("telemetry.flush_interval", telemetry.FlushInterval);
        RequireRange("telemetry.queue_size", telemetry.QueueSize, 1, int.MaxValue);
        RequireRange("telemetry.file_keep", telemetry.FileKeep, 0, 1000);
        if (telemetry.FileMaxSize < ByteSize.KiB)
        {
            throw new ConfigException("telemetry.file_max_size", $"{ByteSize.Format(telemetry.FileMaxSize)} is too small (at least 1KiB, e.g. 100MB)");
        }

        if (telemetry.Sink == TelemetrySinks.File || telemetry.FilePath.Length > 0)
        {
            RequireAbsolute("telemetry.file_path", telemetry.FilePath);
        }

        // Only http insists here: configs written before the gRPC sink existed name it without a URL, and the
        // node reports a missing URL when it starts the gRPC sink (TelemetryPipeline).
        if (telemetry.Sink == TelemetrySinks.Http || telemetry.HttpUrl.Length > 0)
        {
            if (!Uri.TryCreate(telemetry.HttpUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                var shown = telemetry.HttpUrl.Length == 0 ? $"is required when telemetry.sink is {telemetry.Sink}" : $"\"{telemetry.HttpUrl}\" is not an http(s) URL";
                throw new ConfigException("telemetry.http_url", $"{shown} (e.g. http://warpdrive-control-plane:8090)");
            }
        }

        if (telemetry.TokenFile.Length > 0)
        {
            RequireAbsolute("telemetry.token_file", telemetry.TokenFile);
        }
    }

    private static void RequireAbsolute(string key, string path)
    {
        if (path.Length == 0)
        {
            throw new ConfigException(key, "is required (an absolute path)");
        }

        if (!path.StartsWith('/'))
        {
            throw new ConfigException(key, $"\"{path}\" is not an absolute path (must start with /)");
        }
    }

    private static void RequireRange(string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            var allowed = max == int.MaxValue ? $"at least {min}" : $"{min} to {max}";
            throw new ConfigException(key, $"{value} is out of range ({allowed})");
        }
    }

    private static void RequireNonNegative(string key, TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            throw new ConfigException(key, $"{Duration.Format(value)} is negative (must be 0 or more)");
        }
    }

    private static void RequirePositive(string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ConfigException(key, $"{Duration.Format(value)} is not allowed (must be more than 0, e.g. 5s)");
        }
    }

    private static void RequireOneOf(string key, string value, IReadOnlyList<string> allowed, string? what = null)
    {
        if (!allowed.Contains(value, StringComparer.Ordinal))
        {
            var shown = value.Length == 0 ? "is required" : $"\"{value}\" is not {what ?? "allowed"}";
            throw new ConfigException(key, $"{shown} ({string.Join(", ", allowed)})");
        }
    }

    /// <summary><c>[host]:port</c>, the host optional (every interface), IPv6 hosts in brackets.</summary>
    private static void RequireAddress(string key, string address)
    {
        var colon = address.LastIndexOf(':');
        var portText = colon < 0 ? "" : address[(colon + 1)..];
        var host = colon < 0 ? "" : address[..colon];
        var hostOk = !host.Contains(':', StringComparison.Ordinal) || (host.StartsWith('[') && host.EndsWith(']'));
        if (colon < 0 || !hostOk || !ushort.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            throw new ConfigException(key, $"\"{address}\" is not a listen address ([host]:port, e.g. :9090, 127.0.0.1:9090, [::1]:9090)");
        }
    }

    /// <summary>", did you mean root?" when one known key is a small edit away from <paramref name="name"/>.</summary>
    private static string Suggestion(string name, IReadOnlyList<string> known)
    {
        var close = known.Where(k => EditDistance(name, k) <= Math.Max(1, k.Length / 4)).ToList();
        return close.Count == 1 ? $", did you mean {close[0]}?" : "";
    }

    /// <summary>Edits (insert, delete, substitute, swap two neighbours) from <paramref name="a"/> to <paramref name="b"/>.</summary>
    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("^[a-z0-9][a-z0-9-_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex BackendName();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex NamespaceName();
}
