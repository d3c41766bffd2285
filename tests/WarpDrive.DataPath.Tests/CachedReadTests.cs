namespace WarpDrive.DataPath.Tests;

/// <summary>Reads through the mount with the block cache in the path: readahead, passthrough, changes at the source.</summary>
[NonParallelizable]
public sealed class CachedReadTests
{
    private static byte[] Content(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Test]
    public async Task SequentialShardReadsAreServedByReadahead()
    {
        const int files = 8;
        const int size = 8 << 20; // 8 blocks of 1 MiB each
        await using var stack = MountedStack.Create(
            source =>
            {
                for (var i = 0; i < files; i++)
                {
                    File.WriteAllBytes(Path.Combine(source, $"shard-{i:D3}.tar"), Content(i, size));
                }
            },
            readLatency: TimeSpan.FromMilliseconds(20));

        for (var i = 0; i < files; i++)
        {
            var name = $"shard-{i:D3}.tar";
            Assert.That(File.ReadAllBytes(Path.Combine(stack.Mounted, name)), Is.EqualTo(Content(i, size)), name);
        }

        var stats = stack.Cache.Snapshot();
        var blocks = files * (size >> 20);
        var hitRate = (double)stats.ReadaheadHits / blocks;
        TestContext.Out.WriteLine($"readahead hits {stats.ReadaheadHits} of {blocks} blocks ({hitRate:P1}), issued {stats.ReadaheadIssued}, wasted {stats.ReadaheadWasted}, backend fetches {stats.BackendFetches}");
        Assert.Multiple(() =>
        {
            Assert.That(hitRate, Is.GreaterThanOrEqualTo(0.95), "readahead hit rate");
            Assert.That(stats.BackendFetches, Is.LessThanOrEqualTo(blocks), "each block fetched at most once");
        });
    }

    [Test]
    public async Task FullyCachedFileIsHandedToTheKernelAsPassthrough()
    {
        var content = Content(42, (5 << 20) + 12345);
        await using var stack = MountedStack.Create(source => File.WriteAllBytes(Path.Combine(source, "model.bin"), content));
        var path = Path.Combine(stack.Mounted, "model.bin");

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content), "first read fills the cache");
        Assert.That(stack.Server.PassthroughAvailable, Is.True, "this kernel (6.9+) and root allow passthrough");
        MountedStack.DropPageCache();
        var readsBefore = stack.FileSystem.Stats.Reads;

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content), "passthrough read");
        Assert.Multiple(() =>
        {
            Assert.That(stack.FileSystem.Stats.PassthroughOpens, Is.EqualTo(1), "second open is passthrough");
            Assert.That(stack.FileSystem.Stats.Reads, Is.EqualTo(readsBefore), "the kernel read the cache file without asking us");
        });
    }

    [Test]
    public async Task PassthroughFileIsNeverEvictedUnderItsReader()
    {
        var kept = Content(1, 4 << 20);
        await using var stack = MountedStack.Create(
            source =>
            {
                File.WriteAllBytes(Path.Combine(source, "kept.bin"), kept);
                for (var i = 0; i < 6; i++)
                {
                    File.WriteAllBytes(Path.Combine(source, $"filler-{i}.bin"), Content(100 + i, 4 << 20));
                }
            },
            cacheSize: 12 << 20);
        var keptPath = Path.Combine(stack.Mounted, "kept.bin");
        Assert.That(File.ReadAllBytes(keptPath), Is.EqualTo(kept));

        using var reader = File.OpenHandle(keptPath, FileMode.Open, FileAccess.Read);
        Assert.That(stack.FileSystem.Stats.PassthroughOpens, Is.EqualTo(1));
        for (var i = 0; i < 6; i++)
        {
            _ = File.ReadAllBytes(Path.Combine(stack.Mounted, $"filler-{i}.bin")); // 24 MiB through a 12 MiB cache
        }

        await Task.Delay(200); // let the eviction loop run after the last insert
        MountedStack.DropPageCache();
        var again = new byte[kept.Length];
        Assert.That(RandomAccess.Read(reader, again, 0), Is.EqualTo(kept.Length));
        Assert.Multiple(() =>
        {
            Assert.That(again, Is.EqualTo(kept), "no hole was punched under the passthrough reader");
            Assert.That(stack.Cache.Snapshot().Evictions, Is.GreaterThan(0), "the cache did evict other blocks");
        });
    }

    [Test]
    public async Task ChangedSourceIsSeenAfterTheTtlEvenForPassthroughFiles()
    {
        var first = Content(7, 2 << 20);
        var second = Content(8, 3 << 20);
        await using var stack = MountedStack.Create(source => File.WriteAllBytes(Path.Combine(source, "data.bin"), first), ttl: TimeSpan.FromSeconds(1));
        var path = Path.Combine(stack.Mounted, "data.bin");
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(first));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(first));
        Assert.That(stack.FileSystem.Stats.PassthroughOpens, Is.EqualTo(1), "the second open was passthrough");

        File.WriteAllBytes(Path.Combine(stack.Source, "data.bin"), second);
        File.SetLastWriteTimeUtc(Path.Combine(stack.Source, "data.bin"), DateTime.UtcNow.AddMinutes(1));
        await Task.Delay(TimeSpan.FromSeconds(2.5));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(second), "new content after the TTL");
    }

    [Test]
    public async Task ScrubFindsACorruptBlockOfAPassthroughFileAndDropsIt()
    {
        var content = Content(9, 3 << 20);
        await using var stack = MountedStack.Create(source => File.WriteAllBytes(Path.Combine(source, "weights.bin"), content));
        var path = Path.Combine(stack.Mounted, "weights.bin");
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content), "first read fills the cache");
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content), "second read is passthrough");
        Assert.That(stack.FileSystem.Stats.PassthroughOpens, Is.EqualTo(1));

        // The disk goes bad under a file the kernel reads without us: one flipped byte in the second block.
        var blockFile = Directory.EnumerateFiles(Path.Combine(stack.CacheDirectory, "blocks"), "*", SearchOption.AllDirectories).Single();
        using (var handle = File.OpenHandle(blockFile, FileMode.Open, FileAccess.ReadWrite))
        {
            var one = new byte[1];
            RandomAccess.Read(handle, one, (1 << 20) + 77);
            one[0] ^= 0xFF;
            RandomAccess.Write(handle, one, (1 << 20) + 77);
        }

        var (verified, corrupt) = await stack.Cache.ScrubAsync();
        MountedStack.DropPageCache();
        var readsBefore = stack.FileSystem.Stats.Reads;

        Assert.Multiple(() =>
        {
            Assert.That(verified, Is.EqualTo(3), "every block was re-hashed");
            Assert.That(corrupt, Is.EqualTo(1), "the flipped block was found");
            Assert.That(stack.Cache.Snapshot().ChecksumFailures, Is.EqualTo(1));
        });
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(content), "the right bytes after the scrub");
        Assert.Multiple(() =>
        {
            Assert.That(stack.FileSystem.Stats.PassthroughOpens, Is.EqualTo(1), "an incomplete file is not passthrough");
            Assert.That(stack.FileSystem.Stats.Reads, Is.GreaterThan(readsBefore), "the reads came to us and refetched the block");
        });
    }
}
