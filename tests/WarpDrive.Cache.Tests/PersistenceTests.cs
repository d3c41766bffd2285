namespace WarpDrive.Cache.Tests;

[TestFixture]
public sealed class PersistenceTests
{
    private CacheTestBed _bed = null!;

    [SetUp]
    public void SetUp() => _bed = new CacheTestBed();

    [TearDown]
    public async Task TearDown() => await _bed.DisposeAsync();

    [Test]
    public async Task RestartKeepsCachedBlocks()
    {
        var data = _bed.WriteFile("f.bin", (5 * CacheTestBed.SmallBlock) + 10, seed: 1);
        var cache = _bed.OpenCache();
        Assert.That(await _bed.ReadThroughCacheAsync(cache, "f.bin"), Is.EqualTo(data));
        await _bed.CloseAsync(cache);
        var callsAfterFirstRun = _bed.Backend.ReadAtCalls;

        var restarted = _bed.OpenCache();
        Assert.That(await _bed.ReadThroughCacheAsync(restarted, "f.bin"), Is.EqualTo(data));
        Assert.That(_bed.Backend.ReadAtCalls, Is.EqualTo(callsAfterFirstRun), "no backend read after restart");
        var stats = restarted.Snapshot();
        Assert.That(stats.Hits, Is.EqualTo(6));
        Assert.That(stats.SizeBytes, Is.EqualTo(data.Length));
    }

    [Test]
    public async Task DataWrittenWithoutItsMetadataRecordIsNeverServed()
    {
        // A crash between pwrite and the metadata record: the bytes are in the file, the record is not.
        var data = _bed.WriteFile("f.bin", 3 * CacheTestBed.SmallBlock, seed: 2);
        var cache = _bed.OpenCache(_bed.Options() with { ReadaheadBlocks = 0 });
        using (var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin")))
        {
            await reader.ReadAsync(0, new byte[10], CancellationToken.None);
        }

        await _bed.CloseAsync(cache);
        var dataFile = _bed.DataFiles().Single();
        var garbage = Enumerable.Repeat((byte)0xAB, CacheTestBed.SmallBlock / 2).ToArray();
        using (var handle = File.OpenHandle(dataFile, FileMode.Open, FileAccess.Write))
        {
            RandomAccess.Write(handle, garbage, CacheTestBed.SmallBlock);
        }

        var callsBefore = _bed.Backend.ReadAtCalls;
        var restarted = _bed.OpenCache();
        Assert.That(await _bed.ReadThroughCacheAsync(restarted, "f.bin"), Is.EqualTo(data));
        Assert.That(_bed.Backend.ReadAtCalls - callsBefore, Is.EqualTo(2), "blocks 1 and 2 were never recorded, so they are fetched");
    }

    [Test]
    public async Task TornBlockIsDetectedAndRefetched()
    {
        // A record whose data did not fully reach the disk (power loss): half the block is stale.
        var data = _bed.WriteFile("f.bin", 2 * CacheTestBed.SmallBlock, seed: 3);
        var cache = _bed.OpenCache();
        await _bed.ReadThroughCacheAsync(cache, "f.bin");
        await _bed.CloseAsync(cache);
        using (var handle = File.OpenHandle(_bed.DataFiles().Single(), FileMode.Open, FileAccess.Write))
        {
            RandomAccess.Write(handle, new byte[CacheTestBed.SmallBlock / 2], CacheTestBed.SmallBlock + 100);
        }

        var callsBefore = _bed.Backend.ReadAtCalls;
        var restarted = _bed.OpenCache();
        Assert.That(await _bed.ReadThroughCacheAsync(restarted, "f.bin"), Is.EqualTo(data));
        Assert.That(restarted.Snapshot().ChecksumFailures, Is.EqualTo(1));
        Assert.That(_bed.Backend.ReadAtCalls - callsBefore, Is.EqualTo(1), "only the torn block is refetched");
    }

    [Test]
    public async Task FlippedByteIsDetectedCountedAndTheRightDataServed()
    {
        var data = _bed.WriteFile("f.bin", 2 * CacheTestBed.SmallBlock, seed: 4);
        var cache = _bed.OpenCache();
        await _bed.ReadThroughCacheAsync(cache, "f.bin");
        await _bed.CloseAsync(cache);
        const long flipAt = 12345;
        using (var handle = File.OpenHandle(_bed.DataFiles().Single(), FileMode.Open, FileAccess.ReadWrite))
        {
            var one = new byte[1];
            RandomAccess.Read(handle, one, flipAt);
            one[0] ^= 0x01;
            RandomAccess.Write(handle, one, flipAt);
        }

        var restarted = _bed.OpenCache();
        using var reader = restarted.Open(_bed.Backend, await _bed.StatAsync("f.bin"));
        var buffer = new byte[10];
        await reader.ReadAsync(flipAt - 5, buffer, CancellationToken.None);
        Assert.That(buffer, Is.EqualTo(data.AsSpan((int)flipAt - 5, 10).ToArray()));
        Assert.That(restarted.Snapshot().ChecksumFailures, Is.EqualTo(1));

        // The refetched block is stored again: later reads are hits without new failures.
        await reader.ReadAsync(flipAt - 5, buffer, CancellationToken.None);
        Assert.That(buffer, Is.EqualTo(data.AsSpan((int)flipAt - 5, 10).ToArray()));
        Assert.That(restarted.Snapshot().ChecksumFailures, Is.EqualTo(1));
    }

    [Test]
    public async Task OrphansAreReclaimedOnStart()
    {
        var a = _bed.WriteFile("a.bin", CacheTestBed.SmallBlock, seed: 5);
        var b = _bed.WriteFile("b.bin", CacheTestBed.SmallBlock, seed: 6);
        var cache = _bed.OpenCache();
        await _bed.ReadThroughCacheAsync(cache, "a.bin");
        await _bed.ReadThroughCacheAsync(cache, "b.bin");
        await _bed.CloseAsync(cache);

        // Metadata without a file: remove one data file. A file without metadata: plant a stray one.
        var files = _bed.DataFiles();
        Assert.That(files, Has.Length.EqualTo(2));
        File.Delete(files[0]);
        var strayId = Guid.NewGuid().ToString("N");
        var stray = Path.Combine(_bed.CacheRoot, "blocks", strayId[..2], strayId[2..4], strayId + ".blk");
        Directory.CreateDirectory(Path.GetDirectoryName(stray)!);
        File.WriteAllBytes(stray, new byte[4096]);

        var callsBefore = _bed.Backend.ReadAtCalls;
        var restarted = _bed.OpenCache();
        var stats = restarted.Snapshot();
        Assert.That(stats.OrphansReclaimed, Is.GreaterThanOrEqualTo(2));
        Assert.That(File.Exists(stray), Is.False);
        Assert.That(stats.SizeBytes, Is.EqualTo(CacheTestBed.SmallBlock), "only the intact object is accounted");
        Assert.That(await _bed.ReadThroughCacheAsync(restarted, "a.bin"), Is.EqualTo(a));
        Assert.That(await _bed.ReadThroughCacheAsync(restarted, "b.bin"), Is.EqualTo(b));
        Assert.That(_bed.Backend.ReadAtCalls - callsBefore, Is.EqualTo(1), "only the object that lost its file is fetched again");
    }
}
