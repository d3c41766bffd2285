using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Backends;
using WarpDrive.Backends.Local;
using WarpDrive.Cache;

namespace WarpDrive.Bench.Micro;

/// <summary>
/// The block cache's read path once data is cached, every read verified against the 64 KiB sub-block sums it
/// touches: sequential 128 KiB reads (sub-block aligned: read into the caller's buffer, verified in place), and
/// 128 KiB reads at random 4 KiB-aligned offsets (three sub-blocks through a pooled buffer), as the seqread and
/// randread workloads issue them. The baseline is a bare pread of the same 128 KiB from the cache's data file: the
/// floor of the unverified path, measured under the same load. The budget is zero bytes allocated per read.
/// </summary>
[MemoryDiagnoser]
public class CacheReadBenchmarks
{
    private const int FileSize = 16 << 20;
    private const int RandomOffsets = 1024;
    private string _root = null!;
    private LocalBackend _backend = null!;
    private BlockCache _cache = null!;
    private IObjectReader _reader = null!;
    private Microsoft.Win32.SafeHandles.SafeFileHandle _dataFile = null!;
    private readonly byte[] _destination = new byte[128 << 10];
    private readonly long[] _randomOffsets = new long[RandomOffsets];
    private long _offset;
    private int _next;

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
            await _reader.ReadAsync(offset, _destination, CancellationToken.None); // fill every block
        }

        var random = new Random(2);
        for (var i = 0; i < _randomOffsets.Length; i++)
        {
            _randomOffsets[i] = random.NextInt64((FileSize - _destination.Length) / 4096) * 4096;
        }

        var dataFile = Directory.GetFiles(Path.Combine(_root, "cache", "blocks"), "*.blk", SearchOption.AllDirectories).Single();
        _dataFile = File.OpenHandle(dataFile, FileMode.Open, FileAccess.Read);
    }

    [Benchmark(Baseline = true, Description = "128 KiB pread of the cache's data file (unverified floor)")]
    public int BarePread()
    {
        _offset = (_offset + _destination.Length) % FileSize;
        return RandomAccess.Read(_dataFile, _destination, _offset);
    }

    [Benchmark(Description = "128 KiB read, cached, sub-block aligned (seqread), verified")]
    public ValueTask<int> HitRead()
    {
        _offset = (_offset + _destination.Length) % FileSize;
        return _reader.ReadAsync(_offset, _destination, CancellationToken.None);
    }

    [Benchmark(Description = "128 KiB read, cached, random 4 KiB-aligned offset (randread), verified")]
    public ValueTask<int> RandomHitRead()
    {
        _next = (_next + 1) % RandomOffsets;
        return _reader.ReadAsync(_randomOffsets[_next], _destination, CancellationToken.None);
    }

    [GlobalCleanup]
    public async Task CleanUp()
    {
        _dataFile.Dispose();
        _reader.Dispose();
        await _cache.DisposeAsync();
        await _backend.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
