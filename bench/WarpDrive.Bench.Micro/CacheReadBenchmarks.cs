using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Backends;
using WarpDrive.Backends.Local;
using WarpDrive.Cache;

namespace WarpDrive.Bench.Micro;

/// <summary>
/// The block cache's read path once data is cached: a 128 KiB read of a verified block (the FUSE READ a training
/// loop issues), and of a block that must be re-hashed first. The budget is zero bytes allocated per read.
/// </summary>
[MemoryDiagnoser]
public class CacheReadBenchmarks
{
    private const int FileSize = 16 << 20;
    private string _root = null!;
    private LocalBackend _backend = null!;
    private BlockCache _cache = null!;
    private IObjectReader _reader = null!;
    private readonly byte[] _destination = new byte[128 << 10];
    private long _offset;

    [GlobalSetup]
    public async Task SetUp()
    {
        _root = Directory.CreateTempSubdirectory("wd-micro-").FullName;
        Directory.CreateDirectory(Path.Combine(_root, "source"));
        var bytes = new byte[FileSize];
        new Random(1).NextBytes(bytes);
        await File.WriteAllBytesAsync(Path.Combine(_root, "source", "shard.bin"), bytes);
        _backend = new LocalBackend("bench", Path.Combine(_root, "source"));
        _cache = new BlockCache(new BlockCacheOptions(Path.Combine(_root, "cache"), 1L << 30), NullLogger.Instance);
        var version = await _backend.StatAsync("shard.bin", CancellationToken.None) ?? throw new InvalidOperationException("no source file");
        _reader = _cache.Open(_backend, version);
        for (long offset = 0; offset < FileSize; offset += _destination.Length)
        {
            await _reader.ReadAsync(offset, _destination, CancellationToken.None); // fill and verify every block
        }
    }

    [Benchmark(Description = "128 KiB read, cached and verified block")]
    public ValueTask<int> HitRead()
    {
        _offset = (_offset + _destination.Length) % FileSize;
        return _reader.ReadAsync(_offset, _destination, CancellationToken.None);
    }

    [GlobalCleanup]
    public async Task CleanUp()
    {
        _reader.Dispose();
        await _cache.DisposeAsync();
        await _backend.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
