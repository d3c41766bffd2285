using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Backends;
using WarpDrive.Backends.Local;

namespace WarpDrive.Cache.Tests;

/// <summary>
/// A temp directory with a source tree served by a real LocalBackend (wrapped in a CountingBackend) and a cache
/// root. Everything is deleted on disposal.
/// </summary>
internal sealed class CacheTestBed : IAsyncDisposable
{
    public const int SmallBlock = 64 * 1024;

    private readonly List<BlockCache> _caches = [];

    public CacheTestBed()
    {
        Root = Path.Combine(Path.GetTempPath(), "warpdrive-cache-tests", Guid.NewGuid().ToString("N"));
        SourceRoot = Path.Combine(Root, "source");
        CacheRoot = Path.Combine(Root, "cache");
        Directory.CreateDirectory(SourceRoot);
        Backend = new CountingBackend(new LocalBackend("local", SourceRoot));
    }

    public string Root { get; }

    public string SourceRoot { get; }

    public string CacheRoot { get; }

    public CountingBackend Backend { get; }

    public BlockCacheOptions Options(long maxSize = 256L * 1024 * 1024) => new(CacheRoot, maxSize)
    {
        BlockSize = SmallBlock,
        AccessFlushInterval = TimeSpan.FromMilliseconds(200),
        EvictionInterval = TimeSpan.FromMilliseconds(200),
    };

    public BlockCache OpenCache(BlockCacheOptions? options = null)
    {
        var cache = new BlockCache(options ?? Options(), NullLogger.Instance);
        _caches.Add(cache);
        return cache;
    }

    /// <summary>Disposes a cache early (a clean restart); the bed forgets it.</summary>
    public async Task CloseAsync(BlockCache cache)
    {
        _caches.Remove(cache);
        await cache.DisposeAsync();
    }

    public byte[] WriteFile(string path, int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        var full = Path.Combine(SourceRoot, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, data);
        return data;
    }

    public async Task<BackendEntry> StatAsync(string path) =>
        await Backend.StatAsync(path, CancellationToken.None) ?? throw new FileNotFoundException(path);

    public static async Task<byte[]> ReadAllAsync(IObjectReader reader, int chunk = SmallBlock)
    {
        var result = new byte[reader.Version.Size];
        var offset = 0;
        while (offset < result.Length)
        {
            var read = await reader.ReadAsync(offset, result.AsMemory(offset, Math.Min(chunk, result.Length - offset)), CancellationToken.None);
            Assert.That(read, Is.GreaterThan(0), "short read before end of file");
            offset += read;
        }

        return result;
    }

    public async Task<byte[]> ReadThroughCacheAsync(BlockCache cache, string path, int chunk = SmallBlock)
    {
        using var reader = cache.Open(Backend, await StatAsync(path));
        return await ReadAllAsync(reader, chunk);
    }

    /// <summary>The data files currently under the cache's blocks/ directory.</summary>
    public string[] DataFiles() =>
        Directory.Exists(Path.Combine(CacheRoot, "blocks"))
            ? Directory.GetFiles(Path.Combine(CacheRoot, "blocks"), "*.blk", SearchOption.AllDirectories)
            : [];

    public async ValueTask DisposeAsync()
    {
        foreach (var cache in _caches)
        {
            await cache.DisposeAsync();
        }

        await Backend.DisposeAsync();
        Directory.Delete(Root, recursive: true);
    }
}
