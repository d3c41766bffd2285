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
        var command = new Command("stats", "Cache hits, misses, evictions and size.") { agent, cacheDir };
        command.Validators.Add(r =>
        {
            if (r.GetResult(agent) is not null && r.GetResult(cacheDir) is not null)
            {
                r.AddError("give --agent or --cache-dir, not both");
            }
        });
        command.SetAction(async (parsed, ct) =>
        {
            var terminal = Terminal.Create(parsed.GetValue(g.NoColor));
            var rows = parsed.GetValue(cacheDir) is { } dir
                ? Offline(dir)
                : await LiveAsync(parsed.GetValue(agent) ?? DefaultAgent, ct);
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

    private static async Task<Dictionary<string, object?>> LiveAsync(string agent, CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        string text;
        try
        {
            text = await http.GetStringAsync(new Uri(new Uri(agent), "/metrics"), ct);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            throw new CtlException($"cannot read metrics from the agent at {agent} ({e.Message}); is it running with metrics enabled? (--agent)");
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
    public static async Task<T> Open<T>(string path, long maxSize, int blockSize, Func<BlockCacheOptions, BlockCache> open, Func<BlockCache, Task<T>> use, CancellationToken ct)
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
                                   "Stop the agent first, or warm through it with --kube.");
        }

        await using (cache)
        {
            ct.ThrowIfCancellationRequested();
            return await use(cache);
        }
    }

}
