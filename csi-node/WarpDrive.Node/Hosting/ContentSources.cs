using Microsoft.Extensions.Logging;
using WarpDrive.Cache;
using WarpDrive.Config;

namespace WarpDrive.Node.Hosting;

/// <summary>Chooses where file content comes from: the node's block cache, or straight from the backends.</summary>
public static class ContentSources
{
    public static IContentSource Create(CacheSettings cache, ILoggerFactory loggers)
    {
        Directory.CreateDirectory(cache.Path);
        var logger = loggers.CreateLogger(typeof(ContentSources));
        if (!cache.Enabled)
        {
            logger.LogInformation("block cache disabled: reads go straight to the backends");
            return new DirectContentSource();
        }

        var options = new BlockCacheOptions(cache.Path, cache.MaxSize)
        {
            BlockSize = checked((int)cache.BlockSize),
            ReadaheadBlocks = cache.ReadaheadBlocks,
            MaxParallelFetch = cache.MaxParallelFetch,
            EvictHighWater = cache.EvictHighWater,
            EvictLowWater = cache.EvictLowWater,
        };
        logger.LogInformation("block cache at {Path}: {MaxSize} in {BlockSize} blocks", cache.Path, ByteSize.Format(cache.MaxSize), ByteSize.Format(cache.BlockSize));
        return new BlockCache(options, loggers.CreateLogger<BlockCache>());
    }

    /// <summary>
    /// As <see cref="Create"/>, after taking mounts over from an agent that is exiting: its process may hold the
    /// cache's database lock for a moment longer, so opening is retried for up to 30 s.
    /// </summary>
    public static async Task<IContentSource> CreateAfterTakeOverAsync(CacheSettings cache, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(typeof(ContentSources));
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return Create(cache, loggers);
            }
            catch (Exception e) when (waited.Elapsed < TimeSpan.FromSeconds(30))
            {
                logger.LogDebug("cache not available yet after take-over ({Error}); retrying", e.GetType().Name);
                await Task.Delay(20).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Closes the content source when it holds resources (the block cache's files and RocksDB).</summary>
    public static async ValueTask DisposeAsync(IContentSource content)
    {
        if (content is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync().ConfigureAwait(false);
        }
    }
}
