using WarpDrive.Backends;

namespace WarpDrive.Cache.Tests;

[TestFixture]
public sealed class ReadPathTests
{
    private CacheTestBed _bed = null!;

    [SetUp]
    public void SetUp() => _bed = new CacheTestBed();

    [TearDown]
    public async Task TearDown() => await _bed.DisposeAsync();

    [Test]
    public async Task ReadOutcomeSaysWhetherTheCacheServedEveryBlockOfTheRead()
    {
        var data = _bed.WriteFile("three.bin", 3 * CacheTestBed.SmallBlock, seed: 11);
        var cache = _bed.OpenCache(_bed.Options() with { ReadaheadBlocks = 0 });
        var version = await _bed.StatAsync("three.bin");
        using var reader = cache.Open(_bed.Backend, version);
        var buffer = new byte[1000];

        var cold = await reader.ReadWithOutcomeAsync(10, buffer, CancellationToken.None);
        var warm = await reader.ReadWithOutcomeAsync(10, buffer, CancellationToken.None);
        var spanning = new byte[2000];
        var halfCold = await reader.ReadWithOutcomeAsync(CacheTestBed.SmallBlock - 1000, spanning, CancellationToken.None);
        var halfColdAgain = await reader.ReadWithOutcomeAsync(CacheTestBed.SmallBlock - 1000, spanning, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(cold, Is.EqualTo(new ReadOutcome(1000, FromCache: false)));
            Assert.That(warm, Is.EqualTo(new ReadOutcome(1000, FromCache: true)));
            Assert.That(buffer, Is.EqualTo(data.AsSpan(10, 1000).ToArray()));
            Assert.That(halfCold, Is.EqualTo(new ReadOutcome(2000, FromCache: false)), "block 1 had to be fetched");
            Assert.That(halfColdAgain, Is.EqualTo(new ReadOutcome(2000, FromCache: true)));
            Assert.That(spanning, Is.EqualTo(data.AsSpan(CacheTestBed.SmallBlock - 1000, 2000).ToArray()));
        });
    }

    [Test]
    public async Task DirectReadsNeverCountAsCacheHits()
    {
        _bed.WriteFile("direct.bin", 5000, seed: 12);
        var version = await _bed.StatAsync("direct.bin");
        using var reader = new DirectContentSource().Open(_bed.Backend, version);

        var first = await reader.ReadWithOutcomeAsync(0, new byte[5000], CancellationToken.None);
        var second = await reader.ReadWithOutcomeAsync(0, new byte[5000], CancellationToken.None);

        Assert.That(new[] { first, second }, Is.All.EqualTo(new ReadOutcome(5000, FromCache: false)));
    }

    [Test]
    public async Task ConcurrentReadersOfOneColdBlockCauseOneBackendRead()
    {
        var data = _bed.WriteFile("one.bin", CacheTestBed.SmallBlock, seed: 1);
        _bed.Backend.ReadLatency = TimeSpan.FromMilliseconds(100);
        var cache = _bed.OpenCache();
        var version = await _bed.StatAsync("one.bin");

        var readers = Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            using var reader = cache.Open(_bed.Backend, version);
            var buffer = new byte[1000];
            var offset = i * 1000;
            var read = await reader.ReadAsync(offset, buffer, CancellationToken.None);
            return (offset, read, buffer);
        }));

        foreach (var (offset, read, buffer) in await Task.WhenAll(readers))
        {
            Assert.That(read, Is.EqualTo(1000));
            Assert.That(buffer, Is.EqualTo(data.AsSpan(offset, 1000).ToArray()));
        }

        Assert.That(_bed.Backend.ReadAtCalls, Is.EqualTo(1));
        Assert.That(cache.Snapshot().BackendFetches, Is.EqualTo(1));
    }

    [Test]
    public async Task CancelledWaiterDoesNotCancelTheSharedFetch()
    {
        var data = _bed.WriteFile("one.bin", CacheTestBed.SmallBlock, seed: 2);
        _bed.Backend.ReadLatency = TimeSpan.FromMilliseconds(300);
        var cache = _bed.OpenCache();
        var version = await _bed.StatAsync("one.bin");
        using var impatient = cache.Open(_bed.Backend, version);
        using var patient = cache.Open(_bed.Backend, version);
        using var cancel = new CancellationTokenSource();

        var first = impatient.ReadAsync(0, new byte[100], cancel.Token).AsTask();
        var buffer = new byte[100];
        var second = patient.ReadAsync(0, buffer, CancellationToken.None).AsTask();
        await cancel.CancelAsync();

        Assert.That(async () => await first, Throws.InstanceOf<OperationCanceledException>());
        Assert.That(await second, Is.EqualTo(100));
        Assert.That(buffer, Is.EqualTo(data.AsSpan(0, 100).ToArray()));
        Assert.That(_bed.Backend.ReadAtCalls, Is.EqualTo(1));
    }

    [Test]
    public async Task RandomReadsMatchTheSourceAcrossBlockBoundariesAndTheLastPartialBlock()
    {
        var data = _bed.WriteFile("f.bin", (10 * CacheTestBed.SmallBlock) + 1234, seed: 3);
        var cache = _bed.OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin"));
        var random = new Random(42);
        for (var i = 0; i < 300; i++)
        {
            var offset = random.NextInt64(data.Length + 10);
            var buffer = new byte[random.Next(1, 3 * CacheTestBed.SmallBlock)];
            var read = await reader.ReadAsync(offset, buffer, CancellationToken.None);
            var expected = (int)Math.Max(0, Math.Min(buffer.Length, data.Length - offset));
            Assert.That(read, Is.EqualTo(expected), $"read at {offset} of {buffer.Length}");
            Assert.That(buffer.AsSpan(0, read).SequenceEqual(data.AsSpan((int)Math.Min(offset, data.Length), read)), Is.True, $"bytes at {offset}");
        }

        Assert.That(cache.Snapshot().Hits, Is.GreaterThan(0));
        Assert.That(_bed.Backend.ReadAtCalls, Is.LessThanOrEqualTo(11), "each block fetched once");
    }

    [Test]
    public async Task ZeroLengthFileReadsNothingAndTouchesNoBackend()
    {
        _bed.WriteFile("empty.bin", 0, seed: 0);
        var cache = _bed.OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("empty.bin"));

        Assert.That(await reader.ReadAsync(0, new byte[10], CancellationToken.None), Is.Zero);
        Assert.That(_bed.Backend.ReadAtCalls, Is.Zero);
    }

    [Test]
    public async Task SparseFileLargerThan4GiBIsReadCorrectlyNearTheEnd()
    {
        const long size = (5L * 1024 * 1024 * 1024) + 777;
        var tail = new byte[100_000];
        new Random(5).NextBytes(tail);
        var path = Path.Combine(_bed.SourceRoot, "huge.bin");
        using (var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write))
        {
            RandomAccess.SetLength(handle, size);
            RandomAccess.Write(handle, tail, size - tail.Length);
        }

        var cache = _bed.OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("huge.bin"));
        var buffer = new byte[150_000];
        var read = await reader.ReadAsync(size - buffer.Length, buffer, CancellationToken.None);
        Assert.That(read, Is.EqualTo(buffer.Length));
        Assert.That(buffer.AsSpan(buffer.Length - tail.Length).SequenceEqual(tail), Is.True);
        Assert.That(buffer.AsSpan(0, buffer.Length - tail.Length).IndexOfAnyExcept((byte)0), Is.EqualTo(-1));

        var again = new byte[150_000];
        var callsBefore = _bed.Backend.ReadAtCalls;
        await reader.ReadAsync(size - again.Length, again, CancellationToken.None);
        Assert.That(again, Is.EqualTo(buffer));
        Assert.That(_bed.Backend.ReadAtCalls, Is.EqualTo(callsBefore), "second read served from the cache");
        Assert.That(await reader.ReadAsync(size, new byte[10], CancellationToken.None), Is.Zero);
    }

    [Test]
    public async Task BackendFailureReachesTheReaderAndALaterReadRetries()
    {
        var data = _bed.WriteFile("f.bin", CacheTestBed.SmallBlock, seed: 6);
        var cache = _bed.OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin"));
        _bed.Backend.ReadFault = (_, _) => new BackendException(BackendErrorKind.Unavailable, "local", "injected");

        Assert.That(async () => await reader.ReadAsync(0, new byte[10], CancellationToken.None), Throws.InstanceOf<BackendException>());

        _bed.Backend.ReadFault = null;
        var buffer = new byte[10];
        Assert.That(await reader.ReadAsync(0, buffer, CancellationToken.None), Is.EqualTo(10));
        Assert.That(buffer, Is.EqualTo(data.AsSpan(0, 10).ToArray()));
    }

    [Test]
    public async Task NewETagServesNewDataAndInvalidateDropsTheOldVersion()
    {
        var v1 = _bed.WriteFile("f.bin", 3 * CacheTestBed.SmallBlock, seed: 7);
        var cache = _bed.OpenCache();
        var first = await _bed.StatAsync("f.bin");
        using var oldReader = cache.Open(_bed.Backend, first);
        Assert.That(await CacheTestBed.ReadAllAsync(oldReader), Is.EqualTo(v1));
        Assert.That(_bed.DataFiles(), Has.Length.EqualTo(1));

        File.Delete(Path.Combine(_bed.SourceRoot, "f.bin"));
        var v2 = _bed.WriteFile("f.bin", 3 * CacheTestBed.SmallBlock, seed: 8);
        var second = await _bed.StatAsync("f.bin");
        Assert.That(second.ETag, Is.Not.EqualTo(first.ETag));

        using (var newReader = cache.Open(_bed.Backend, second))
        {
            Assert.That(await CacheTestBed.ReadAllAsync(newReader), Is.EqualTo(v2));
        }

        // The open old reader still serves the version it was opened with, from its handle on the dropped file.
        var buffer = new byte[100];
        await oldReader.ReadAsync(0, buffer, CancellationToken.None);
        Assert.That(buffer, Is.EqualTo(v1.AsSpan(0, 100).ToArray()));

        await cache.WaitForIdleAsync(TimeSpan.FromSeconds(10));
        Assert.That(_bed.DataFiles(), Has.Length.EqualTo(1), "the old version's data file was deleted");

        await cache.InvalidateAsync(_bed.Backend, "f.bin");
        Assert.That(_bed.DataFiles(), Is.Empty);
        Assert.That(cache.Snapshot().SizeBytes, Is.Zero);
        var calls = _bed.Backend.ReadAtCalls;
        Assert.That(await _bed.ReadThroughCacheAsync(cache, "f.bin"), Is.EqualTo(v2));
        Assert.That(_bed.Backend.ReadAtCalls, Is.EqualTo(calls + 3), "invalidated blocks are fetched again");
    }
}
