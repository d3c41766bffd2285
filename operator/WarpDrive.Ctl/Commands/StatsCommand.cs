using System.CommandLine;
using System.Text.Json;
using WarpDrive.Cache;
using WarpDrive.Ctl.Infrastructure;

namespace WarpDrive.Ctl.Commands;

/// <summary><c>stats</c>: the block cache's counters, live from an agent's /metrics or offline from its directory.</summary>
internal static class StatsCommand
{
    public const string DefaultAgent = "http://127.0.0.1:9090";

    public static Command Create(GlobalOptions g)
    {
        var agent = new Option<string?>("--agent") { Description = $"Agent metrics URL (default {DefaultAgent})." };
        var cacheDir = new Option<DirectoryInfo?>("--cache-dir") { Description = "Read a stopped agent's cache directory instead." };
        var config = new Option<FileInfo?>("--config") { Description = "The agent's config: live from its metrics.addr, or from its cache.path when the agent is not running." };
        var command = new Command("stats", "Cache hits, misses, evictions and size.") { agent, cacheDir, config };
        command.Validators.Add(r =>
        {
            if (new Option[] { agent, cacheDir, config }.Count(o => r.GetResult(o) is not null) > 1)
            {
                r.AddError("give one of --agent, --cache-dir or --config");
            }
        });
        command.SetAction(async (parsed, ct) =>
        {
            var terminal = Terminal.Create(parsed.GetValue(g.NoColor));
            Dictionary<string, object?> rows;
            if (parsed.GetValue(cacheDir) is { } dir)
            {
                rows = Offline(dir);
            }
            else if (parsed.GetValue(config) is { } configFile)
            {
                var nodeConfig = NodeBackends.LoadConfig(configFile);
                var live = nodeConfig.Metrics.Enabled ? await TryLiveAsync(AgentUrl(nodeConfig.Metrics.Addr), ct) : null;
                if (live is null)
                {
                    terminal.Note($"stats: the agent's metrics ({(nodeConfig.Metrics.Enabled ? AgentUrl(nodeConfig.Metrics.Addr) : "metrics.enabled: false")}) are not reachable; reading its cache directory {nodeConfig.Cache.Path} instead");
                }

                rows = live ?? Offline(new DirectoryInfo(nodeConfig.Cache.Path));
            }
            else
            {
                var url = parsed.GetValue(agent) ?? DefaultAgent;
                rows = await TryLiveAsync(url, ct)
                       ?? throw new CtlException($"cannot read metrics from the agent at {url}; is it running with metrics enabled? (--agent, or --config to read its cache directory when it is stopped)");
            }

            var item = JsonSerializer.SerializeToElement(rows.ToDictionary(r => r.Key, r => r.Value));
            ResultWriter.Write(terminal, parsed.GetValue(g.Format), [item],
            [
                new("SOURCE", "source"),
                new("HITS", "hits", null, true),
                new("MISSES", "misses", null, true),
                new("HIT RATIO", "hit_ratio", ResultWriter.PercentCell("hit_ratio"), true),
                new("EVICTIONS", "evictions", null, true),
                new("OBJECTS", "objects", null, true),
                new("SIZE", "size_bytes", ResultWriter.SizeCell("size_bytes"), true),
                new("UTILIZATION", "utilization_ratio", ResultWriter.PercentCell("utilization_ratio"), true),
            ]);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>An agent's metrics address as a client dials it: ":9090" and "0.0.0.0:9090" are this machine.</summary>
    internal static string AgentUrl(string metricsAddr)
    {
        var colon = metricsAddr.LastIndexOf(':');
        var host = colon <= 0 ? "" : metricsAddr[..colon];
        if (host is "" or "0.0.0.0" or "[::]" or "*" or "+")
        {
            host = "127.0.0.1";
        }

        return $"http://{host}:{metricsAddr[(colon + 1)..]}";
    }

    /// <summary>A path on an agent URL given by the user; a URL that is not http(s) is a usage error naming it.</summary>
    internal static Uri AgentEndpoint(string agent, string path) =>
        Uri.TryCreate(agent, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? new Uri(uri, path)
            : throw new CtlException($"--agent '{agent}' is not an http(s) URL (e.g. {DefaultAgent})", ExitCodes.Usage);

    /// <summary>The cache counters from the agent's /metrics, or null when nothing answers there.</summary>
    private static async Task<Dictionary<string, object?>?> TryLiveAsync(string agent, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string text;
        try
        {
            text = await http.GetStringAsync(AgentEndpoint(agent, "/metrics"), ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return null;
        }

        var sums = PrometheusText.SumByName(text);
        if (!sums.Keys.Any(k => k.StartsWith("warpdrive_cache_", StringComparison.Ordinal)))
        {
            throw new CtlException($"{agent}/metrics has no warpdrive_cache_* metrics; is that a WarpDrive agent?");
        }

        long Get(string name) => (long)sums.GetValueOrDefault(name);
        var hits = Get("warpdrive_cache_hit_total");
        var misses = Get("warpdrive_cache_miss_total");
        return new()
        {
            ["source"] = agent,
            ["hits"] = hits,
            ["misses"] = misses,
            ["hit_ratio"] = hits + misses == 0 ? 0 : (double)hits / (hits + misses),
            ["evictions"] = Get("warpdrive_cache_evictions_total"),
            ["objects"] = null,
            ["size_bytes"] = Get("warpdrive_cache_size_bytes"),
            ["utilization_ratio"] = sums.GetValueOrDefault("warpdrive_cache_utilization_ratio"),
        };
    }

    /// <summary>
    /// Reads the cache's metadata database read-only — no lock taken, nothing reclaimed or evicted, so it is safe
    /// beside a running agent and whatever block size the agent uses. Hit and miss counters live only in an agent
    /// process, so they are absent offline.
    /// </summary>
    private static Dictionary<string, object?> Offline(DirectoryInfo dir)
    {
        var (objects, bytes) = CacheMetadataReader.Count(dir.FullName);
        return new()
        {
            ["source"] = dir.FullName,
            ["hits"] = null,
            ["misses"] = null,
            ["hit_ratio"] = null,
            ["evictions"] = null,
            ["objects"] = objects,
            ["size_bytes"] = bytes,
            ["utilization_ratio"] = null,
        };
    }
}

/// <summary>
/// Opens a node's block cache for a one-off job, turning "a running agent holds the RocksDB lock" into a clear message.
/// </summary>
internal static class CacheDirectory
{
    /// <param name="mountPoint">The agent's mount point, for the message that says how to warm through it.</param>
    public static async Task<T> Open<T>(string path, long maxSize, int blockSize, string mountPoint, Func<BlockCacheOptions, BlockCache> open, Func<BlockCache, Task<T>> use, CancellationToken ct)
    {
        var options = new BlockCacheOptions(path, maxSize);
        if (blockSize > 0)
        {
            options = options with { BlockSize = blockSize };
        }

        BlockCache cache;
        try
        {
            cache = open(options);
        }
        catch (Exception e) when (e.GetType().Name == "RocksDbException" && e.Message.Contains("lock", StringComparison.OrdinalIgnoreCase))
        {
            throw new CtlException($"the cache at {path} is in use by a running agent (its metadata database is locked). " +
                                   $"Stop the agent first, or warm through it: --mount {mountPoint} instead of --config (bare metal), or --kube (Kubernetes).");
        }

        await using (cache)
        {
            ct.ThrowIfCancellationRequested();
            return await use(cache);
        }
    }

}
