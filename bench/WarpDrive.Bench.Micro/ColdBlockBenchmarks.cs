using System.Buffers;
using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Backends;
using WarpDrive.Backends.Local;
using WarpDrive.Bench.S3;
using WarpDrive.Cache;

namespace WarpDrive.Bench.Micro;

/// <summary>
/// The per-block cold path, one 4 MiB block at a time, and its parts: the ranged GET through the S3 backend (AWS SDK
/// against the benchmark S3 responder on loopback), the XxHash3 of the block, and the whole miss through
/// <see cref="BlockCache"/> (fetch, hash, pwrite, RocksDB put, then the 128 KiB the reader asked for), from a local
/// directory and from S3. Each iteration drops the object from the cache first, so every read is a miss.
/// </summary>
[MemoryDiagnoser]
public class ColdBlockBenchmarks
{
    private const int BlockSize = 4 << 20;
    private const string Bucket = "micro";
    private string _root = null!;
    private WebApplication _server = null!;
    private LocalBackend _local = null!;
    private IBackend _s3 = null!;
    private BlockCache _cache = null!;
    private BackendEntry _localVersion = null!;
    private BackendEntry _s3Version = null!;
    private readonly byte[] _destination = new byte[128 << 10];
    private readonly byte[] _block = new byte[BlockSize];

    [GlobalSetup]
    public async Task SetUp()
    {
        _root = Directory.CreateTempSubdirectory("wd-micro-cold-").FullName;
        var source = Path.Combine(_root, "source");
        Directory.CreateDirectory(source);
        new Random(2).NextBytes(_block);
        // Exactly one block, so a read at offset 0 prefetches nothing beyond it.
        await File.WriteAllBytesAsync(Path.Combine(source, "block.bin"), _block);
        var port = FreePort();
        _server = await new BenchS3Server(source, Bucket).StartAsync(port, CancellationToken.None);
        Environment.SetEnvironmentVariable("WARPDRIVE_MICRO_KEY", "micro");
        _s3 = BackendFactory.Create("micro-s3", "s3", new Dictionary<string, string>
        {
            ["bucket"] = Bucket,
            ["endpoint"] = $"http://127.0.0.1:{port}",
            ["path_style"] = "true",
            ["access_key_env"] = "WARPDRIVE_MICRO_KEY",
            ["secret_key_env"] = "WARPDRIVE_MICRO_KEY",
        });
        _local = new LocalBackend("micro-local", source);
        _cache = new BlockCache(new BlockCacheOptions(Path.Combine(_root, "cache"), 1L << 30), NullLogger.Instance);
        _localVersion = await _local.StatAsync("block.bin", CancellationToken.None) ?? throw new InvalidOperationException("no source file");
        _s3Version = await _s3.StatAsync("block.bin", CancellationToken.None) ?? throw new InvalidOperationException("no object");
    }

    [Benchmark(Description = "4 MiB ranged GET, S3 backend (SDK) into a pooled buffer")]
    public async Task<int> RangedGet()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            return await _s3.ReadVersionAtAsync("block.bin", _s3Version.ETag, 0, buffer.AsMemory(0, BlockSize), CancellationToken.None);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [Benchmark(Description = "XxHash3 of a 4 MiB block")]
    public ulong Hash() => XxHash3.HashToUInt64(_block);

    [Benchmark(Description = "cold 128 KiB read = 4 MiB block miss through BlockCache, local backend")]
    public Task<int> ColdBlockLocal() => MissAsync(_local, _localVersion);

    [Benchmark(Description = "cold 128 KiB read = 4 MiB block miss through BlockCache, S3 backend")]
    public Task<int> ColdBlockS3() => MissAsync(_s3, _s3Version);

    private async Task<int> MissAsync(IBackend backend, BackendEntry version)
    {
        await _cache.InvalidateAsync(backend, version.Path);
        using var reader = _cache.Open(backend, version);
        return await reader.ReadAsync(0, _destination, CancellationToken.None);
    }

    [GlobalCleanup]
    public async Task CleanUp()
    {
        await _cache.DisposeAsync();
        await _s3.DisposeAsync();
        await _local.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
