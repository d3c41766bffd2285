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
        logger.LogInformation("block cache disabled: reads go straight to the backends");
        return new DirectContentSource();
    }
}
