namespace WarpDrive.Cache.Tests;

[TestFixture]
public sealed class ReadaheadTests
{
    private CacheTestBed _bed = null!;

    [SetUp]
    public void SetUp() => _bed = new CacheTestBed();

    [TearDown]
    public async Task TearDown() => await _bed.DisposeAsync();

    [Test]
    public async Task SequentialScanIsServedFromReadahead()
    {
        const int blocks = 100;
        var data = _bed.WriteFile("f.bin", blocks * CacheTestBed.SmallBlock, seed: 1);
        _bed.Backend.ReadLatency = TimeSpan.FromMilliseconds(20);
        var cache = _bed.OpenCache();

        Assert.That(await _bed.ReadThroughCacheAsync(cache, "f.bin", chunk: 32 * 1024), Is.EqualTo(data));

        var stats = cache.Snapshot();
        Assert.That(stats.ReadaheadHits, Is.GreaterThanOrEqualTo(blocks * 95 / 100));
        Assert.That(_bed.Backend.ReadAtCalls, Is.EqualTo(blocks), "each block fetched exactly once");
    }

    [Test]
    public async Task KernelStyleOutOfOrderReadsStillCountAsSequential()
    {
        const int blocks = 60;
        var data = _bed.WriteFile("f.bin", blocks * CacheTestBed.SmallBlock, seed: 2);
        var cache = _bed.OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin"));
        // As the kernel's parallel async readahead delivers them: 0, 1, 3, 2, 4, 5, 7, 6, ...
        var order = Enumerable.Range(0, blocks / 4).SelectMany(i => new[] { 4 * i, (4 * i) + 1, (4 * i) + 3, (4 * i) + 2 }).ToArray();
        var buffer = new byte[CacheTestBed.SmallBlock];
        foreach (var block in order)
        {
            await reader.ReadAsync((long)block * CacheTestBed.SmallBlock, buffer, CancellationToken.None);
            Assert.That(buffer.AsSpan().SequenceEqual(data.AsSpan(block * CacheTestBed.SmallBlock, CacheTestBed.SmallBlock)), Is.True);
        }

        Assert.That(cache.Snapshot().ReadaheadHits, Is.GreaterThanOrEqualTo(blocks * 9 / 10));
    }

    [Test]
    public async Task RandomReadsTriggerNoReadahead()
    {
        const int blocks = 512;
        var data = _bed.WriteFile("f.bin", blocks * CacheTestBed.SmallBlock, seed: 3);
        var cache = _bed.OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin"));
        var random = new Random(7);
        var touched = new HashSet<long>();
        var buffer = new byte[4096];
        for (var i = 0; i < 60; i++)
        {
            var offset = random.NextInt64(CacheTestBed.SmallBlock, data.Length - buffer.Length);
            if (offset / CacheTestBed.SmallBlock != (offset + buffer.Length - 1) / CacheTestBed.SmallBlock)
            {
                continue;
            }

            touched.Add(offset / CacheTestBed.SmallBlock);
            await reader.ReadAsync(offset, buffer, CancellationToken.None);
            Assert.That(buffer.AsSpan().SequenceEqual(data.AsSpan((int)offset, buffer.Length)), Is.True);
        }

        await cache.WaitForIdleAsync(TimeSpan.FromSeconds(10));
        Assert.That(cache.Snapshot().ReadaheadIssued, Is.Zero);
        Assert.That(_bed.Backend.ReadAtCalls, Is.EqualTo(touched.Count));
    }

    [Test]
    public async Task FilesOpenedInNameOrderPrefetchTheNextFiles()
    {
        var shards = Enumerable.Range(0, 4).Select(i => _bed.WriteFile($"train/shard-{i:D3}.tar", 2 * CacheTestBed.SmallBlock, seed: i)).ToArray();
        var cache = _bed.OpenCache();
        await _bed.ReadThroughCacheAsync(cache, "train/shard-000.tar");
        await _bed.ReadThroughCacheAsync(cache, "train/shard-001.tar");
        await cache.WaitForIdleAsync(TimeSpan.FromSeconds(10));

        Assert.That(_bed.Backend.ReadsOf("train/shard-002.tar"), Is.EqualTo(2), "next shard prefetched");
        Assert.That(_bed.Backend.ReadsOf("train/shard-003.tar"), Is.EqualTo(2), "and the one after");
        Assert.That(_bed.Backend.ListCalls, Is.EqualTo(1));

        Assert.That(await _bed.ReadThroughCacheAsync(cache, "train/shard-002.tar"), Is.EqualTo(shards[2]));
        Assert.That(_bed.Backend.ReadsOf("train/shard-002.tar"), Is.EqualTo(2), "served from the cache");
        await cache.WaitForIdleAsync(TimeSpan.FromSeconds(10));
        Assert.That(_bed.Backend.ListCalls, Is.EqualTo(1), "the listing is cached");
    }

    [Test]
    public async Task ReadaheadEvictedUnreadIsCountedAsWasted()
    {
        _bed.WriteFile("f.bin", 40 * CacheTestBed.SmallBlock, seed: 4);
        var options = _bed.Options(maxSize: 8 * CacheTestBed.SmallBlock) with { ReadaheadBlocks = 4 };
        var cache = _bed.OpenCache(options);
        using (var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin")))
        {
            await reader.ReadAsync(0, new byte[10], CancellationToken.None);
            await reader.ReadAsync(CacheTestBed.SmallBlock, new byte[10], CancellationToken.None);
            await cache.WaitForIdleAsync(TimeSpan.FromSeconds(10));
            // Jump far away: the readahead around the start is never read.
            for (var block = 30; block < 40; block++)
            {
                await reader.ReadAsync(block * (long)CacheTestBed.SmallBlock, new byte[10], CancellationToken.None);
            }
        }

        await cache.WaitForIdleAsync(TimeSpan.FromSeconds(10));
        await cache.EvictAsync(force: true);
        var stats = cache.Snapshot();
        Assert.That(stats.ReadaheadIssued, Is.GreaterThan(0));
        Assert.That(stats.ReadaheadWasted, Is.GreaterThan(0));
    }
}
