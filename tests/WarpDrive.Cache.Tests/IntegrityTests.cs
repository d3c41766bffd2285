using System.IO.Hashing;

namespace WarpDrive.Cache.Tests;

/// <summary>
/// Every read through the cache verifies the 64 KiB sub-blocks it touches, including reads of a block that was just
/// read and verified: damage done to the data file behind the cache's back (a pwrite, a punched hole) is never
/// served. Blocks are 1 MiB here, so each has 16 sub-blocks.
/// </summary>
[TestFixture]
public sealed class IntegrityTests
{
    private const int Block = 1 << 20;
    private const int Sub = 64 * 1024;
    private CacheTestBed _bed = null!;

    [SetUp]
    public void SetUp() => _bed = new CacheTestBed();

    [TearDown]
    public async Task TearDown() => await _bed.DisposeAsync();

    [Test]
    public async Task ByteCorruptedInsideAJustReadBlockIsNotServedAndCountsOneCorruptBlock()
    {
        var data = _bed.WriteFile("f.bin", 3 * Block, seed: 11);
        var cache = OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin"));
        Assert.That(await CacheTestBed.ReadAllAsync(reader, 128 * 1024), Is.EqualTo(data), "first read fills the cache");

        // Inside sub-block 3 of block 1, which was read (and verified) a moment ago.
        var corruptAt = Block + (3 * Sub) + 1000;
        FlipByte(corruptAt);
        var callsBefore = _bed.Backend.ReadAtCalls;

        // A sub-block-aligned 128 KiB read (the FUSE READ of a training loop): verified in the caller's buffer.
        var aligned = new byte[128 * 1024];
        await reader.ReadAsync(Block + (2 * Sub), aligned, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(aligned, Is.EqualTo(data.AsSpan(Block + (2 * Sub), aligned.Length).ToArray()));
            Assert.That(cache.Snapshot().ChecksumFailures, Is.EqualTo(1));
            Assert.That(_bed.Backend.ReadAtCalls - callsBefore, Is.EqualTo(1), "the corrupt block was refetched");
        });

        // The refetched block is stored again: reading the whole file serves right bytes without new failures.
        Assert.That(await CacheTestBed.ReadAllAsync(reader, 128 * 1024), Is.EqualTo(data));
        Assert.That(cache.Snapshot().ChecksumFailures, Is.EqualTo(1));
    }

    [Test]
    public async Task UnalignedReadOfACorruptedSubBlockReturnsTheRightBytes()
    {
        var data = _bed.WriteFile("f.bin", 2 * Block, seed: 12);
        var cache = OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin"));
        await CacheTestBed.ReadAllAsync(reader);
        var corruptAt = (5 * Sub) + 77;
        FlipByte(corruptAt);

        var buffer = new byte[100];
        await reader.ReadAsync(corruptAt - 50, buffer, CancellationToken.None);
        Assert.That(buffer, Is.EqualTo(data.AsSpan(corruptAt - 50, buffer.Length).ToArray()));
        Assert.That(cache.Snapshot().ChecksumFailures, Is.EqualTo(1));
    }

    [Test]
    public async Task ShortLastSubBlockOfTheLastBlockIsVerifiedToo()
    {
        // Block 1 is 100,000 bytes: one full sub-block and a short one of 34,464 bytes.
        var data = _bed.WriteFile("f.bin", Block + 100_000, seed: 18);
        var cache = OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin"));
        Assert.That(await CacheTestBed.ReadAllAsync(reader, 96 * 1024), Is.EqualTo(data));
        FlipByte(data.Length - 1);

        var tail = new byte[data.Length - (Block + Sub)];
        await reader.ReadAsync(Block + Sub, tail, CancellationToken.None);
        Assert.That(tail, Is.EqualTo(data.AsSpan(Block + Sub).ToArray()), "aligned read of the short sub-block");
        Assert.That(cache.Snapshot().ChecksumFailures, Is.EqualTo(1));

        FlipByte(Block + Sub + 10);
        var middle = new byte[1000];
        await reader.ReadAsync(Block + Sub - 500, middle, CancellationToken.None);
        Assert.That(middle, Is.EqualTo(data.AsSpan(Block + Sub - 500, middle.Length).ToArray()), "unaligned read across both sub-blocks");
        Assert.That(cache.Snapshot().ChecksumFailures, Is.EqualTo(2), "the refetched block was damaged again: a second corrupt block");
    }

    [Test]
    public async Task HolePunchedBehindTheCachesBackIsNotServedAsZeros()
    {
        var data = _bed.WriteFile("f.bin", 2 * Block, seed: 13);
        var cache = OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin"));
        await CacheTestBed.ReadAllAsync(reader, 128 * 1024);
        using (var handle = File.OpenHandle(_bed.DataFiles().Single(), FileMode.Open, FileAccess.ReadWrite))
        {
            Assert.That(NativeMethods.TryPunchHole(handle, Block + (8 * Sub), Sub, out var errno), Is.True, $"fallocate errno {errno}");
        }

        var buffer = new byte[128 * 1024];
        await reader.ReadAsync(Block + (7 * Sub), buffer, CancellationToken.None);
        Assert.That(buffer, Is.EqualTo(data.AsSpan(Block + (7 * Sub), buffer.Length).ToArray()));
        Assert.That(cache.Snapshot().ChecksumFailures, Is.EqualTo(1));
    }

    [Test]
    public async Task ConcurrentReadersOfACorruptBlockAllGetTheRightBytesAndItCountsOnce()
    {
        var data = _bed.WriteFile("f.bin", Block, seed: 17);
        var cache = OpenCache();
        await _bed.ReadThroughCacheAsync(cache, "f.bin");
        FlipByte((4 * Sub) + 9);
        var version = await _bed.StatAsync("f.bin");

        // Dedicated threads released together, so the readers really overlap on the corrupt block.
        const int Readers = 8;
        var results = new byte[Readers][];
        var failures = new Exception?[Readers];
        using var start = new Barrier(Readers);
        var threads = Enumerable.Range(0, Readers).Select(i => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                using var reader = cache.Open(_bed.Backend, version);
                var buffer = new byte[128 * 1024];
                reader.ReadAsync(4 * Sub, buffer, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                results[i] = buffer;
            }
            catch (Exception ex)
            {
                failures[i] = ex;
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }

        Assert.That(failures, Is.All.Null);

        Assert.That(results, Is.All.EqualTo(data.AsSpan(4 * Sub, 128 * 1024).ToArray()));
        Assert.That(cache.Snapshot().ChecksumFailures, Is.EqualTo(1), "one corrupt block, however many readers saw it");
        Assert.That(await _bed.ReadThroughCacheAsync(cache, "f.bin"), Is.EqualTo(data));
        Assert.That(cache.Snapshot().ChecksumFailures, Is.EqualTo(1));
    }

    [Test]
    public async Task ReadsVerifyOnlyTheSubBlocksTheyTouch()
    {
        var data = _bed.WriteFile("f.bin", Block, seed: 14);
        var cache = OpenCache();
        using var reader = cache.Open(_bed.Backend, await _bed.StatAsync("f.bin"));
        await CacheTestBed.ReadAllAsync(reader);
        FlipByte((10 * Sub) + 5);
        var callsBefore = _bed.Backend.ReadAtCalls;

        // Sub-blocks 0–1 are intact: served from the cache, nothing counted, no backend read.
        var buffer = new byte[2 * Sub];
        await reader.ReadAsync(0, buffer, CancellationToken.None);
        Assert.Multiple(() =>
        {
            Assert.That(buffer, Is.EqualTo(data.AsSpan(0, buffer.Length).ToArray()));
            Assert.That(cache.Snapshot().ChecksumFailures, Is.EqualTo(0));
            Assert.That(_bed.Backend.ReadAtCalls, Is.EqualTo(callsBefore));
        });

        // The last sub-block read reaches the corrupted one.
        await reader.ReadAsync(9 * Sub, buffer, CancellationToken.None);
        Assert.That(buffer, Is.EqualTo(data.AsSpan(9 * Sub, buffer.Length).ToArray()));
        Assert.That(cache.Snapshot().ChecksumFailures, Is.EqualTo(1));
    }

    [Test]
    public async Task PassthroughOpenAfterARestartChecksEveryByteAndRefusesACorruptObject()
    {
        var data = _bed.WriteFile("f.bin", 2 * Block, seed: 15);
        var cache = OpenCache();
        Assert.That(await _bed.ReadThroughCacheAsync(cache, "f.bin"), Is.EqualTo(data));
        await _bed.CloseAsync(cache);
        FlipByte(Block + (15 * Sub) + 3);

        var restarted = OpenCache();
        var version = await _bed.StatAsync("f.bin");
        Assert.That(restarted.TryOpenComplete(_bed.Backend, version, out _, out _), Is.False, "a corrupt block makes the object incomplete");
        Assert.That(restarted.Snapshot().ChecksumFailures, Is.EqualTo(1));

        // Reading refetches the dropped block; then the object is complete and intact again.
        Assert.That(await _bed.ReadThroughCacheAsync(restarted, "f.bin"), Is.EqualTo(data));
        if (!restarted.TryOpenComplete(_bed.Backend, version, out var file, out var pin))
        {
            Assert.Fail("the object is complete after the refetch");
            return;
        }

        using (file)
        using (pin)
        {
            var served = new byte[data.Length];
            Assert.That(RandomAccess.Read(file, served, 0), Is.EqualTo(data.Length));
            Assert.That(served, Is.EqualTo(data), "the file handed to the kernel holds the right bytes");
        }
    }

    [Test]
    public async Task BlocksRecordedWithoutSubBlockSumsAreVerifiedWholeOnceAndGetThem()
    {
        // A cache written by a version that kept one whole-block XxHash3 per block.
        var data = _bed.WriteFile("f.bin", 3 * Block, seed: 16);
        var cache = OpenCache();
        await _bed.ReadThroughCacheAsync(cache, "f.bin");
        await _bed.CloseAsync(cache);
        RewriteRecordsInTheOldFormat();
        FlipByte((2 * Block) + 4321);

        var callsBefore = _bed.Backend.ReadAtCalls;
        var restarted = OpenCache();
        var buffer = new byte[128 * 1024];
        using (var reader = restarted.Open(_bed.Backend, await _bed.StatAsync("f.bin")))
        {
            Assert.That(await CacheTestBed.ReadAllAsync(reader, buffer.Length), Is.EqualTo(data));
        }

        Assert.Multiple(() =>
        {
            Assert.That(restarted.Snapshot().ChecksumFailures, Is.EqualTo(1), "the old whole-block checksum still catches corruption");
            Assert.That(_bed.Backend.ReadAtCalls - callsBefore, Is.EqualTo(1), "intact old blocks are kept, only the corrupt one is refetched");
        });
        await _bed.CloseAsync(restarted);

        using var metadata = new MetadataStore(Path.Combine(_bed.CacheRoot, "meta"));
        var blocks = metadata.ReadBlocks();
        Assert.That(blocks, Has.Count.EqualTo(3));
        Assert.That(blocks.Select(b => b.Sums?.Length), Is.All.EqualTo(Block / Sub), "every block now has its sub-block sums recorded");
    }

    private BlockCache OpenCache() => _bed.OpenCache(_bed.Options() with { BlockSize = Block, ReadaheadBlocks = 0, ScrubInterval = TimeSpan.Zero });

    /// <summary>Flips one byte of the (single) data file through a handle of our own, as disk corruption or a stray write would.</summary>
    private void FlipByte(long offset)
    {
        using var handle = File.OpenHandle(_bed.DataFiles().Single(), FileMode.Open, FileAccess.ReadWrite);
        var one = new byte[1];
        Assert.That(RandomAccess.Read(handle, one, offset), Is.EqualTo(1));
        one[0] ^= 0x40;
        RandomAccess.Write(handle, one, offset);
    }

    /// <summary>Replaces every block record by the first format: whole-block XxHash3-64 of the bytes now on disk, no sub-block sums.</summary>
    private void RewriteRecordsInTheOldFormat()
    {
        using var metadata = new MetadataStore(Path.Combine(_bed.CacheRoot, "meta"));
        using var handle = File.OpenHandle(_bed.DataFiles().Single(), FileMode.Open, FileAccess.Read);
        var blocks = metadata.ReadBlocks();
        Assert.That(blocks, Has.Count.EqualTo(3));
        foreach (var block in blocks)
        {
            var bytes = new byte[block.Length];
            RandomAccess.Read(handle, bytes, block.Index * Block);
            metadata.PutLegacyBlock(block.Id, block.Index, XxHash3.HashToUInt64(bytes), block.Length);
        }

        Assert.That(metadata.ReadBlocks().Select(b => b.Sums), Is.All.Null);
    }
}
