using System.IO.MemoryMappedFiles;

namespace WarpDrive.PosixConformance;

/// <summary>File content: whole files, random preads, EOF, concurrent readers and mmap, all byte for byte.</summary>
public abstract partial class PosixReadConformance
{
    private const int RandomReads = 200;
    private const int ConcurrentReaders = 16;

    [Test]
    public void WholeFilesReadBackExactly()
    {
        var buffer = new byte[1 << 20];
        foreach (var file in Dataset.Files)
        {
            var path = Mounted(file.RelativePath);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            Assert.That(ReadToEndComparing(stream, file, path, buffer), Is.EqualTo(file.Length), $"bytes read from {path}");
        }
    }

    [Test]
    public void RandomPreadsMatch()
    {
        // Mostly the multi-block files: that is where offsets cross pages, FUSE reads and cache blocks.
        var files = ConformanceDataset.Sizes.Where(s => s > 0).Select(s => Dataset[ConformanceDataset.SizePath(s)])
            .Concat(Enumerable.Repeat(Dataset[ConformanceDataset.SizePath(9L << 20)], 6))
            .Concat(Enumerable.Repeat(Dataset[ConformanceDataset.SizePath((1 << 20) + 1)], 3))
            .ToArray();
        var random = new Random(20260101);
        var buffer = new byte[600_000];
        for (var i = 0; i < RandomReads; i++)
        {
            var file = files[random.Next(files.Length)];
            var path = Mounted(file.RelativePath);
            var offset = random.NextInt64(0, file.Length);
            var count = random.Next(3) == 0 ? random.Next(1, 64) : random.Next(1, buffer.Length);
            using var handle = File.OpenHandle(path);
            var read = RandomAccess.Read(handle, buffer.AsSpan(0, count), offset);
            Assert.That(read, Is.EqualTo(Math.Min(count, file.Length - offset)), $"pread {path} at {offset} for {count}");
            Assert.That(DatasetContent.DescribeMismatch(file.RelativePath, path, offset, buffer.AsSpan(0, read)), Is.Null);
        }
    }

    [Test]
    public void ReadsAtAndPastEndOfFileReturnNothing()
    {
        var buffer = new byte[8192];
        foreach (var size in ConformanceDataset.Sizes)
        {
            var path = Mounted(ConformanceDataset.SizePath(size));
            using var handle = File.OpenHandle(path);
            Assert.Multiple(() =>
            {
                Assert.That(RandomAccess.Read(handle, buffer, size), Is.Zero, $"pread {path} at EOF {size}");
                Assert.That(RandomAccess.Read(handle, buffer, size + 1), Is.Zero, $"pread {path} at {size + 1}");
                Assert.That(RandomAccess.Read(handle, buffer, size + (64L << 20)), Is.Zero, $"pread {path} 64 MiB past EOF");
            });
            if (size > 0)
            {
                // A read that starts before EOF and asks for more gets exactly the tail.
                var read = RandomAccess.Read(handle, buffer, size - 1);
                Assert.That(read, Is.EqualTo(1), $"pread {path} of the last byte");
                Assert.That(DatasetContent.DescribeMismatch(ConformanceDataset.SizePath(size), path, size - 1, buffer.AsSpan(0, 1)), Is.Null);
            }
        }
    }

    [Test]
    public async Task ConcurrentReadersOfTheSameAndDifferentFilesSeeTheirBytes()
    {
        // Half the readers share the 9 MiB file (same handle paths in the server), half read files of their own.
        var shared = Dataset[ConformanceDataset.SizePath(9L << 20)];
        var others = Dataset.Files.Where(f => f.Length > 0 && f.RelativePath != shared.RelativePath)
            .OrderByDescending(f => f.Length).Take(ConcurrentReaders / 2).ToArray();
        var readers = Enumerable.Range(0, ConcurrentReaders).Select(i =>
        {
            var file = i % 2 == 0 ? shared : others[i / 2 % others.Length];
            var chunk = 4096 + (i * 37_813); // different chunk sizes so readers do not move in lockstep
            return Task.Run(() =>
            {
                var path = Mounted(file.RelativePath);
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
                return (path, file.Length, read: ReadToEndComparing(stream, file, path, new byte[chunk]));
            });
        }).ToArray();

        foreach (var (path, length, read) in await Task.WhenAll(readers))
        {
            Assert.That(read, Is.EqualTo(length), $"bytes read from {path} by a concurrent reader");
        }
    }

    [TestCase(4097L)]
    [TestCase(9L << 20)]
    public void SameFileOpenedTwiceAtOnceReadsThroughBothHandles(long size)
    {
        // First a whole read through one handle (the server may now hold the file complete, e.g. in its cache),
        // then a second open while the first is still open: both handles must keep reading the same bytes.
        var relative = ConformanceDataset.SizePath(size);
        var path = Mounted(relative);
        var buffer = new byte[1 << 20];
        using var first = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        Assert.That(ReadToEndComparing(first, Dataset[relative], path, buffer), Is.EqualTo(size), $"bytes read from {path} by the first handle");

        using var second = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        Assert.That(ReadToEndComparing(second, Dataset[relative], path, buffer), Is.EqualTo(size), $"bytes read from {path} by the second handle");
        first.Position = 0;
        Assert.That(ReadToEndComparing(first, Dataset[relative], path, buffer), Is.EqualTo(size), $"bytes read again from {path} by the first handle");
    }

    [TestCase(4097L)]
    [TestCase((1L << 20) + 1)]
    [TestCase(9L << 20)]
    public void ReadOnlyMemoryMapMatches(long size)
    {
        var relative = ConformanceDataset.SizePath(size);
        var path = Mounted(relative);
        using var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName: null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(0, size, MemoryMappedFileAccess.Read);
        var bytes = new byte[size];
        Assert.That(view.ReadArray(0, bytes, 0, bytes.Length), Is.EqualTo(size), $"bytes mapped from {path}");
        Assert.That(DatasetContent.DescribeMismatch(relative, path, 0, bytes), Is.Null);
    }

    /// <summary>Reads <paramref name="stream"/> to its end in buffer-sized reads, asserting every chunk; returns the bytes read.</summary>
    private static long ReadToEndComparing(Stream stream, DatasetFile file, string path, byte[] buffer)
    {
        long offset = 0;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            var mismatch = DatasetContent.DescribeMismatch(file.RelativePath, path, offset, buffer.AsSpan(0, read));
            if (mismatch is not null)
            {
                Assert.Fail(mismatch);
            }

            offset += read;
            if (offset > file.Length)
            {
                Assert.Fail($"{path}: read {offset} bytes, more than its {file.Length}");
            }
        }

        return offset;
    }
}
