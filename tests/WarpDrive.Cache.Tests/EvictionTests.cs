namespace WarpDrive.Cache.Tests;

[TestFixture]
public sealed class EvictionTests
{
    private const long MaxSize = 2L * 1024 * 1024;

    private CacheTestBed _bed = null!;

    [SetUp]
    public void SetUp() => _bed = new CacheTestBed();

    [TearDown]
    public async Task TearDown() => await _bed.DisposeAsync();

    [Test]
    public async Task SizeStaysUnderMaxSizeWhileReadingTwiceItsSize()
    {
        var files = Enumerable.Range(0, 8).ToDictionary(i => $"d/shard-{i:D3}", i => _bed.WriteFile($"d/shard-{i:D3}", 512 * 1024, seed: i));
        var options = _bed.Options(MaxSize);
        var cache = _bed.OpenCache(options);
        // What may be in flight beyond MaxSize: one block per fetch slot.
        var slack = options.MaxParallelFetch * (long)options.BlockSize;

        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var (path, data) in files)
            {
                using var reader = cache.Open(_bed.Backend, await _bed.StatAsync(path));
                var offset = 0;
                var buffer = new byte[CacheTestBed.SmallBlock];
                while (offset < data.Length)
                {
                    var read = await reader.ReadAsync(offset, buffer, CancellationToken.None);
                    Assert.That(buffer.AsSpan(0, read).SequenceEqual(data.AsSpan(offset, read)), Is.True);
                    offset += read;
                    Assert.That(cache.Snapshot().SizeBytes, Is.LessThanOrEqualTo(MaxSize + slack));
                }
            }
        }

        await cache.WaitForIdleAsync(TimeSpan.FromSeconds(10));
        var stats = cache.Snapshot();
        Assert.That(stats.SizeBytes, Is.LessThanOrEqualTo(MaxSize));
        Assert.That(stats.Evictions, Is.GreaterThan(0));
        Assert.That(stats.Utilisation, Is.LessThanOrEqualTo(1.0));

        // Evicted blocks are holes: the data files together hold no more than the cache accounts for (+ slack).
        var allocated = _bed.DataFiles().Sum(AllocatedBytes);
        Assert.That(allocated, Is.LessThanOrEqualTo(MaxSize + slack));
    }

    [Test]
    public async Task PinnedObjectIsNeverEvicted()
    {
        var pinnedData = _bed.WriteFile("pinned.bin", 4 * CacheTestBed.SmallBlock, seed: 100);
        var cache = _bed.OpenCache(_bed.Options(MaxSize));
        Assert.That(await _bed.ReadThroughCacheAsync(cache, "pinned.bin"), Is.EqualTo(pinnedData));
        var version = await _bed.StatAsync("pinned.bin");
        Assert.That(cache.TryOpenComplete(_bed.Backend, version, out var file, out var pin), Is.True);
        using var handle = file!;
        using var keep = pin!;
        Assert.That(cache.Snapshot().PinnedBytes, Is.EqualTo(pinnedData.Length));

        for (var i = 0; i < 10; i++)
        {
            _bed.WriteFile($"other-{i}.bin", 512 * 1024, seed: i);
            await _bed.ReadThroughCacheAsync(cache, $"other-{i}.bin");
        }

        await cache.WaitForIdleAsync(TimeSpan.FromSeconds(10));
        Assert.That(cache.Snapshot().Evictions, Is.GreaterThan(0));

        var viaHandle = new byte[pinnedData.Length];
        Assert.That(RandomAccess.Read(handle, viaHandle, 0), Is.EqualTo(pinnedData.Length));
        Assert.That(viaHandle, Is.EqualTo(pinnedData), "passthrough handle reads the cached bytes");
        var calls = _bed.Backend.ReadsOf("pinned.bin");
        Assert.That(await _bed.ReadThroughCacheAsync(cache, "pinned.bin"), Is.EqualTo(pinnedData));
        Assert.That(_bed.Backend.ReadsOf("pinned.bin"), Is.EqualTo(calls), "no block of the pinned object was evicted");
    }

    [Test]
    public async Task TryOpenCompleteRefusesAPartiallyCachedObject()
    {
        _bed.WriteFile("f.bin", 4 * CacheTestBed.SmallBlock, seed: 1);
        var cache = _bed.OpenCache(_bed.Options() with { ReadaheadBlocks = 0 });
        var version = await _bed.StatAsync("f.bin");
        using (var reader = cache.Open(_bed.Backend, version))
        {
            await reader.ReadAsync(0, new byte[10], CancellationToken.None);
        }

        Assert.That(cache.TryOpenComplete(_bed.Backend, version, out var file, out var pin), Is.False);
        Assert.That(file, Is.Null);
        Assert.That(pin, Is.Null);
        Assert.That(cache.Snapshot().PinnedBytes, Is.Zero);
    }

    private static long AllocatedBytes(string path)
    {
        // st_blocks is in 512-byte units; .NET exposes no API for it, so ask stat(1).
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%b", path]) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture) * 512;
    }
}
