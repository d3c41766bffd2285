using WarpDrive.Backends.Local;

namespace WarpDrive.DataPath.Tests;

/// <summary>
/// A <c>local</c> backend on a local disk served in place: the kernel reads the source file itself (passthrough to
/// the source), or, without passthrough, reads go straight to it; either way nothing is copied into the block cache.
/// </summary>
[NonParallelizable]
public sealed class InPlaceReadTests
{
    private static byte[] Content(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static long CachedBytesOnDisk(string cacheDirectory) =>
        Directory.Exists(Path.Combine(cacheDirectory, "blocks"))
            ? Directory.EnumerateFiles(Path.Combine(cacheDirectory, "blocks"), "*.blk", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length)
            : 0;

    [Test]
    public async Task TheFirstOpenIsAPassthroughToTheSourceFileAndNothingIsCached()
    {
        var content = Content(3, (3 << 20) + 777);
        await using var stack = MountedStack.Create(source => File.WriteAllBytes(Path.Combine(source, "shard.tar"), content), inPlace: InPlaceMode.Always);
        Assert.That(stack.Server.PassthroughAvailable, Is.True, "this kernel (6.9+) and root allow passthrough");
        MountedStack.DropPageCache();

        Assert.That(File.ReadAllBytes(Path.Combine(stack.Mounted, "shard.tar")), Is.EqualTo(content));
        Assert.Multiple(() =>
        {
            Assert.That(stack.FileSystem.Stats.PassthroughOpens, Is.EqualTo(1), "the cold open is already passthrough");
            Assert.That(stack.FileSystem.Stats.Reads, Is.Zero, "the kernel read the source without asking us");
            Assert.That(stack.Backend.Reads, Is.Zero, "and without a backend read");
            Assert.That(stack.Cache.Snapshot().BackendFetches, Is.Zero, "no block was fetched into the cache");
            Assert.That(CachedBytesOnDisk(stack.CacheDirectory), Is.Zero, "no second copy on disk");
        });
    }

    [Test]
    public async Task WithoutPassthroughReadsGoToTheSourceUncached()
    {
        var content = Content(4, (2 << 20) + 5);
        await using var stack = MountedStack.Create(source => File.WriteAllBytes(Path.Combine(source, "shard.tar"), content), inPlace: InPlaceMode.Always, passthrough: false);

        Assert.That(File.ReadAllBytes(Path.Combine(stack.Mounted, "shard.tar")), Is.EqualTo(content));
        Assert.Multiple(() =>
        {
            Assert.That(stack.FileSystem.Stats.PassthroughOpens, Is.Zero);
            Assert.That(stack.Backend.Reads, Is.GreaterThan(0), "reads were served from the source");
            Assert.That(stack.Cache.Snapshot().BackendFetches, Is.Zero, "no block was fetched into the cache");
            Assert.That(CachedBytesOnDisk(stack.CacheDirectory), Is.Zero, "no second copy on disk");
        });
    }

    [Test]
    public async Task AFileReplacedAtTheSourceIsSeenAfterTheTtlAndAnOpenReaderKeepsItsVersion()
    {
        var before = Content(5, 1 << 20);
        var after = Content(6, (1 << 20) + 100);
        await using var stack = MountedStack.Create(source => File.WriteAllBytes(Path.Combine(source, "f.bin"), before),
            inPlace: InPlaceMode.Always, ttl: TimeSpan.FromMilliseconds(200));
        var path = Path.Combine(stack.Mounted, "f.bin");
        using var open = File.OpenHandle(path);

        var replacement = Path.Combine(stack.Source, "f.bin.new");
        File.WriteAllBytes(replacement, after);
        File.Move(replacement, Path.Combine(stack.Source, "f.bin"), overwrite: true);
        await Task.Delay(TimeSpan.FromMilliseconds(400));

        var old = new byte[before.Length];
        Assert.That(RandomAccess.Read(open, old, 0), Is.EqualTo(before.Length));
        Assert.That(old, Is.EqualTo(before), "the handle opened before the rename reads the version it opened");
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(after), "a new open sees the new version");
    }
}
