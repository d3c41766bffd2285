namespace WarpDrive.Cache.Tests;

[TestFixture]
public sealed class WarmTests
{
    private CacheTestBed _bed = null!;

    [SetUp]
    public void SetUp() => _bed = new CacheTestBed();

    [TearDown]
    public async Task TearDown() => await _bed.DisposeAsync();

    [Test]
    public async Task WarmSkipsCachedFilesDownloadsTheRestAndReportsProgress()
    {
        var files = Enumerable.Range(0, 5).Select(i => _bed.WriteFile($"data/sub{i % 2}/f{i}.bin", (3 * CacheTestBed.SmallBlock) + i, seed: i)).ToArray();
        var cache = _bed.OpenCache();
        await _bed.ReadThroughCacheAsync(cache, "data/sub0/f0.bin");
        await cache.WaitForIdleAsync(TimeSpan.FromSeconds(10));
        var before = _bed.Backend.ReadAtCalls;
        var reports = new List<WarmProgress>();

        var result = await cache.WarmAsync(_bed.Backend, "data", new WarmOptions { Workers = 3 }, new SynchronousProgress(reports), CancellationToken.None);

        Assert.That(result.FilesTotal, Is.EqualTo(5));
        Assert.That(result.FilesSkipped, Is.EqualTo(1));
        Assert.That(result.FilesDone, Is.EqualTo(5));
        Assert.That(result.CapReached, Is.False);
        Assert.That(_bed.Backend.ReadsOf("data/sub0/f0.bin"), Is.EqualTo(3), "the cached file (3 blocks) was not read again");
        Assert.That(_bed.Backend.ReadAtCalls - before, Is.EqualTo(4 * 4));
        Assert.That(result.BytesDownloaded, Is.EqualTo(files.Skip(1).Sum(f => (long)f.Length)));
        Assert.That(reports, Is.Not.Empty);
        Assert.That(reports.Select(r => r.FilesDone), Is.Ordered);
        Assert.That(reports[^1].FilesDone, Is.EqualTo(5));

        var calls = _bed.Backend.ReadAtCalls;
        for (var i = 0; i < files.Length; i++)
        {
            Assert.That(await _bed.ReadThroughCacheAsync(cache, $"data/sub{i % 2}/f{i}.bin"), Is.EqualTo(files[i]));
        }

        Assert.That(_bed.Backend.ReadAtCalls, Is.EqualTo(calls), "everything was warm");
    }

    [Test]
    public async Task WarmStopsAtTheCapAndResumesWhereItStopped()
    {
        for (var i = 0; i < 4; i++)
        {
            _bed.WriteFile($"data/f{i}.bin", 4 * CacheTestBed.SmallBlock, seed: i);
        }

        var cache = _bed.OpenCache();
        var cap = 5L * CacheTestBed.SmallBlock;
        var first = await cache.WarmAsync(_bed.Backend, "data", new WarmOptions { Workers = 2, MaxBytes = cap }, null, CancellationToken.None);
        Assert.That(first.CapReached, Is.True);
        Assert.That(first.BytesDownloaded, Is.LessThanOrEqualTo(cap));
        Assert.That(_bed.Backend.ReadAtCalls, Is.LessThanOrEqualTo(5));
        await _bed.CloseAsync(cache);

        var restarted = _bed.OpenCache();
        var second = await restarted.WarmAsync(_bed.Backend, "data", new WarmOptions { Workers = 2 }, null, CancellationToken.None);
        Assert.That(second.CapReached, Is.False);
        Assert.That(second.FilesDone, Is.EqualTo(4));
        Assert.That(first.BytesDownloaded + second.BytesDownloaded, Is.EqualTo(16L * CacheTestBed.SmallBlock), "nothing downloaded twice");
        Assert.That(_bed.Backend.ReadAtCalls, Is.EqualTo(16));
    }

    [Test]
    public async Task ACappedWarmSpendsItsBudgetInListingOrderWhateverTheWorkers()
    {
        for (var i = 0; i < 4; i++)
        {
            _bed.WriteFile($"data/f{i}.bin", 3 * CacheTestBed.SmallBlock, seed: i);
        }

        var cache = _bed.OpenCache();
        // Room for the first file and one block of the second, with more workers than blocks.
        var run = await cache.WarmAsync(_bed.Backend, "data", new WarmOptions { Workers = 16, MaxBytes = 4L * CacheTestBed.SmallBlock }, null, CancellationToken.None);
        await _bed.CloseAsync(cache);
        var reopened = _bed.OpenCache();
        var rest = await reopened.WarmAsync(_bed.Backend, "data", new WarmOptions { Workers = 16 }, null, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That((run.CapReached, run.FilesDone, run.BytesDownloaded), Is.EqualTo((true, 1, 4L * CacheTestBed.SmallBlock)));
            Assert.That((rest.FilesSkipped, rest.BytesDownloaded), Is.EqualTo((1, 8L * CacheTestBed.SmallBlock)), "f0 was complete, one block of f1 too");
        });
    }

    /// <summary>Progress&lt;T&gt; posts to the thread pool; the test wants reports in order, as they happen.</summary>
    private sealed class SynchronousProgress(List<WarmProgress> reports) : IProgress<WarmProgress>
    {
        public void Report(WarmProgress value)
        {
            lock (reports)
            {
                reports.Add(value);
            }
        }
    }
}
