using System.Text;
using WarpDrive.Backends.Local;

namespace WarpDrive.Backends.Tests.Local;

[TestFixture]
public sealed class LocalBackendTests
{
    private TempDirectory _dir = null!;
    private LocalBackend _backend = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory("local");
        _backend = new LocalBackend("test-local", _dir.Path);
    }

    [TearDown]
    public async Task TearDown()
    {
        await _backend.DisposeAsync();
        _dir.Dispose();
    }

    [Test]
    public async Task List_yields_files_and_directories_of_one_level()
    {
        _dir.WriteFile("a.bin", [1, 2, 3]);
        _dir.WriteFile("sub/b.bin", [4]);
        _dir.WriteFile("sub/deeper/c.bin", [5]);

        var top = await _backend.ListAsync("", recursive: false, CancellationToken.None).ToListAsync();
        var sub = await _backend.ListAsync("sub", recursive: false, CancellationToken.None).ToListAsync();

        Assert.That(top.Select(e => (e.Path, e.IsDirectory)), Is.EquivalentTo(new[] { ("a.bin", false), ("sub", true) }));
        Assert.That(top.Single(e => e.Path == "a.bin").Size, Is.EqualTo(3));
        Assert.That(sub.Select(e => (e.Path, e.IsDirectory)), Is.EquivalentTo(new[] { ("sub/b.bin", false), ("sub/deeper", true) }));
    }

    [Test]
    public async Task Recursive_list_yields_every_file_and_no_directories()
    {
        _dir.WriteFile("a.bin", [1]);
        _dir.WriteFile("sub/b.bin", [2]);
        _dir.WriteFile("sub/deeper/c.bin", [3]);
        Directory.CreateDirectory(_dir.Combine("empty"));

        var all = await _backend.ListAsync("", recursive: true, CancellationToken.None).ToListAsync();
        var below = await _backend.ListAsync("sub", recursive: true, CancellationToken.None).ToListAsync();

        Assert.That(all.Select(e => e.Path), Is.EquivalentTo(new[] { "a.bin", "sub/b.bin", "sub/deeper/c.bin" }));
        Assert.That(below.Select(e => e.Path), Is.EquivalentTo(new[] { "sub/b.bin", "sub/deeper/c.bin" }));
    }

    [Test]
    public async Task Listing_a_missing_directory_or_a_file_yields_nothing()
    {
        _dir.WriteFile("file", [1]);

        Assert.That(await _backend.ListAsync("missing", false, CancellationToken.None).ToListAsync(), Is.Empty);
        Assert.That(await _backend.ListAsync("file", true, CancellationToken.None).ToListAsync(), Is.Empty);
    }

    [Test]
    public async Task Stat_reports_files_directories_and_null_for_missing()
    {
        var full = _dir.WriteFile("dir/file.bin", new byte[1234]);
        var mtime = new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(full, mtime);

        var file = await _backend.StatAsync("dir/file.bin", CancellationToken.None);
        var dir = await _backend.StatAsync("dir", CancellationToken.None);
        var root = await _backend.StatAsync("", CancellationToken.None);

        Assert.That(file, Is.Not.Null);
        Assert.That(file!.IsDirectory, Is.False);
        Assert.That(file.Size, Is.EqualTo(1234));
        Assert.That(file.LastModified, Is.EqualTo(new DateTimeOffset(mtime)));
        Assert.That(file.Name, Is.EqualTo("file.bin"));
        Assert.That(dir!.IsDirectory, Is.True);
        Assert.That(root!.IsDirectory, Is.True);
        Assert.That(await _backend.StatAsync("dir/missing", CancellationToken.None), Is.Null);
        Assert.That(await _backend.StatAsync("dir/file.bin/below", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task ReadAt_returns_the_exact_bytes_at_random_offsets()
    {
        var content = TestData.Bytes(3 * 1024 * 1024 + 17, seed: 1);
        _dir.WriteFile("data.bin", content);
        var random = new Random(2);

        for (var i = 0; i < 200; i++)
        {
            var offset = random.NextInt64(content.Length);
            var buffer = new byte[random.Next(1, 256 * 1024)];
            var expected = (int)Math.Min(buffer.Length, content.Length - offset);

            var read = await _backend.ReadAtAsync("data.bin", offset, buffer, CancellationToken.None);

            Assert.That(read, Is.EqualTo(expected), $"offset {offset}");
            Assert.That(buffer.AsSpan(0, read).SequenceEqual(content.AsSpan((int)offset, read)), Is.True, $"offset {offset}");
        }
    }

    [Test]
    public async Task ReadAt_at_or_past_the_end_returns_zero_and_a_straddling_read_is_short()
    {
        _dir.WriteFile("ten", TestData.Bytes(10, 3));
        var buffer = new byte[8];

        Assert.That(await _backend.ReadAtAsync("ten", 10, buffer, CancellationToken.None), Is.Zero);
        Assert.That(await _backend.ReadAtAsync("ten", 1000, buffer, CancellationToken.None), Is.Zero);
        Assert.That(await _backend.ReadAtAsync("ten", 6, buffer, CancellationToken.None), Is.EqualTo(4));
    }

    [Test]
    public async Task ReadAt_beyond_4_GiB_in_a_sparse_file()
    {
        const long size = (5L << 30) + 123;
        var tail = TestData.Bytes(4096, 4);
        using (var file = new FileStream(_dir.Combine("sparse"), FileMode.CreateNew))
        {
            file.SetLength(size);
            file.Position = size - tail.Length;
            file.Write(tail);
        }
        var buffer = new byte[8192];

        var read = await _backend.ReadAtAsync("sparse", size - buffer.Length, buffer, CancellationToken.None);

        Assert.That(read, Is.EqualTo(buffer.Length));
        Assert.That(buffer.AsSpan(0, 4096).IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "the hole reads as zeros");
        Assert.That(buffer.AsSpan(4096).SequenceEqual(tail), Is.True);
        Assert.That((await _backend.StatAsync("sparse", CancellationToken.None))!.Size, Is.EqualTo(size));
    }

    [Test]
    public async Task Unicode_names_round_trip_through_list_stat_and_read()
    {
        const string name = "données/日本語 ファイル 🚀.txt";
        var content = Encoding.UTF8.GetBytes("héllo");
        _dir.WriteFile(name, content);

        var listed = await _backend.ListAsync("données", false, CancellationToken.None).ToListAsync();
        var buffer = new byte[64];
        var read = await _backend.ReadAtAsync(name, 0, buffer, CancellationToken.None);

        Assert.That(listed.Select(e => e.Path), Is.EqualTo(new[] { name }));
        Assert.That((await _backend.StatAsync(name, CancellationToken.None))!.Size, Is.EqualTo(content.Length));
        Assert.That(buffer.AsSpan(0, read).ToArray(), Is.EqualTo(content));
    }

    [TestCase("../outside.txt")]
    [TestCase("sub/../../outside.txt")]
    [TestCase("/etc/passwd")]
    [TestCase("./inside.txt")]
    [TestCase("a//b")]
    public async Task Paths_that_could_escape_the_root_are_not_found(string path)
    {
        using var outside = new TempDirectory("outside");
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(_dir.Path)!, "outside.txt"), "secret");
        try
        {
            _dir.WriteFile("inside.txt", [1]);
            Directory.CreateDirectory(_dir.Combine("sub"));

            Assert.That(await _backend.StatAsync(path, CancellationToken.None), Is.Null);
            var read = Assert.ThrowsAsync<BackendException>(async () => await _backend.ReadAtAsync(path, 0, new byte[8], CancellationToken.None));
            Assert.That(read!.Kind, Is.EqualTo(BackendErrorKind.NotFound));
            var write = Assert.ThrowsAsync<BackendException>(async () => await _backend.WriteAsync(path, new MemoryStream([1]), CancellationToken.None));
            Assert.That(write!.Kind, Is.EqualTo(BackendErrorKind.NotFound));
        }
        finally
        {
            File.Delete(Path.Combine(Path.GetDirectoryName(_dir.Path)!, "outside.txt"));
        }
    }

    [Test]
    public async Task Symlinks_inside_the_root_are_followed()
    {
        _dir.WriteFile("real/file.bin", [9, 8, 7]);
        File.CreateSymbolicLink(_dir.Combine("link.bin"), "real/file.bin");
        Directory.CreateSymbolicLink(_dir.Combine("linkdir"), _dir.Combine("real"));
        Directory.CreateSymbolicLink(_dir.Combine("real/loop"), "..");
        var buffer = new byte[3];

        var top = await _backend.ListAsync("", false, CancellationToken.None).ToListAsync();
        var all = await _backend.ListAsync("", true, CancellationToken.None).ToListAsync();
        await _backend.ReadAtAsync("linkdir/file.bin", 0, buffer, CancellationToken.None);

        Assert.That(top.Select(e => (e.Path, e.IsDirectory)), Is.EquivalentTo(new[] { ("real", true), ("link.bin", false), ("linkdir", true) }));
        Assert.That(all.Select(e => e.Path), Is.EquivalentTo(new[] { "real/file.bin", "link.bin", "linkdir/file.bin" }), "followed once, the loop back to the root is not descended");
        Assert.That((await _backend.StatAsync("link.bin", CancellationToken.None))!.Size, Is.EqualTo(3));
        Assert.That(buffer, Is.EqualTo(new byte[] { 9, 8, 7 }));
    }

    [Test]
    public async Task Symlinks_leaving_the_root_and_dangling_symlinks_are_absent()
    {
        using var outside = new TempDirectory("outside");
        File.WriteAllText(outside.Combine("secret.txt"), "secret");
        File.CreateSymbolicLink(_dir.Combine("escape.txt"), outside.Combine("secret.txt"));
        Directory.CreateSymbolicLink(_dir.Combine("escapedir"), outside.Path);
        File.CreateSymbolicLink(_dir.Combine("dangling"), _dir.Combine("nothing-here"));
        _dir.WriteFile("ok.txt", [1]);

        var listed = await _backend.ListAsync("", false, CancellationToken.None).ToListAsync();
        var recursive = await _backend.ListAsync("", true, CancellationToken.None).ToListAsync();

        Assert.That(listed.Select(e => e.Path), Is.EqualTo(new[] { "ok.txt" }));
        Assert.That(recursive.Select(e => e.Path), Is.EqualTo(new[] { "ok.txt" }));
        Assert.That(await _backend.StatAsync("escape.txt", CancellationToken.None), Is.Null);
        Assert.That(await _backend.StatAsync("escapedir/secret.txt", CancellationToken.None), Is.Null);
        foreach (var path in new[] { "escape.txt", "escapedir/secret.txt", "dangling" })
        {
            var e = Assert.ThrowsAsync<BackendException>(async () => await _backend.ReadAtAsync(path, 0, new byte[8], CancellationToken.None));
            Assert.That(e!.Kind, Is.EqualTo(BackendErrorKind.NotFound), path);
            Assert.ThrowsAsync<BackendException>(async () => await _backend.OpenReadAsync(path, CancellationToken.None));
        }
        var write = Assert.ThrowsAsync<BackendException>(async () => await _backend.WriteAsync("escapedir/new.txt", new MemoryStream([1]), CancellationToken.None));
        Assert.That(write!.Kind, Is.EqualTo(BackendErrorKind.NotFound));
        Assert.That(File.Exists(outside.Combine("new.txt")), Is.False);
    }

    [Test]
    public async Task A_symlink_retargeted_outside_after_a_cached_read_is_no_longer_readable()
    {
        using var outside = new TempDirectory("outside");
        File.WriteAllText(outside.Combine("secret.txt"), "secret");
        _dir.WriteFile("real.txt", [1, 2]);
        File.CreateSymbolicLink(_dir.Combine("link"), _dir.Combine("real.txt"));
        Assert.That(await _backend.ReadAtAsync("link", 0, new byte[2], CancellationToken.None), Is.EqualTo(2));

        File.Delete(_dir.Combine("link"));
        File.CreateSymbolicLink(_dir.Combine("link"), outside.Combine("secret.txt"));

        var e = Assert.ThrowsAsync<BackendException>(async () => await _backend.ReadAtAsync("link", 0, new byte[8], CancellationToken.None));
        Assert.That(e!.Kind, Is.EqualTo(BackendErrorKind.NotFound));
    }

    [Test]
    public async Task Sockets_are_not_listed_or_served()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
        socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(_dir.Combine("sock")));
        _dir.WriteFile("file", [1]);

        var listed = await _backend.ListAsync("", false, CancellationToken.None).ToListAsync();

        Assert.That(listed.Select(e => e.Path), Is.EqualTo(new[] { "file" }));
        Assert.That(await _backend.StatAsync("sock", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Sixteen_threads_reading_concurrently_all_get_the_right_bytes()
    {
        var files = Enumerable.Range(0, 4).Select(i => TestData.Bytes(1 << 20, 10 + i)).ToArray();
        for (var i = 0; i < files.Length; i++)
        {
            _dir.WriteFile($"f{i}", files[i]);
        }
        // A small handle cache forces evictions while other threads are mid-read.
        await using var backend = new LocalBackend("small-cache", _dir.Path, handleCacheCapacity: 2);
        var failures = 0;

        var threads = Enumerable.Range(0, 16).Select(t => new Thread(() =>
        {
            var random = new Random(t);
            var buffer = new byte[16 * 1024];
            for (var i = 0; i < 500; i++)
            {
                var file = random.Next(files.Length);
                var offset = random.Next(files[file].Length - buffer.Length);
                var read = backend.ReadAt($"f{file}", offset, buffer);
                if (read != buffer.Length || !buffer.AsSpan().SequenceEqual(files[file].AsSpan(offset, buffer.Length)))
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.That(failures, Is.Zero);
        Assert.That(backend.OpenHandleCount, Is.LessThanOrEqualTo(2));
    }

    [Test]
    public async Task Write_then_read_then_delete()
    {
        var content = TestData.Bytes(100_000, 5);

        await _backend.WriteAsync("new/dir/obj.bin", new MemoryStream(content), CancellationToken.None);
        var buffer = new byte[content.Length];
        var read = await _backend.ReadAtAsync("new/dir/obj.bin", 0, buffer, CancellationToken.None);
        var leftovers = Directory.GetFiles(_dir.Combine("new/dir"));
        await _backend.DeleteAsync("new/dir/obj.bin", CancellationToken.None);
        await _backend.DeleteAsync("new/dir/obj.bin", CancellationToken.None);

        Assert.That(read, Is.EqualTo(content.Length));
        Assert.That(buffer, Is.EqualTo(content));
        Assert.That(leftovers.Select(Path.GetFileName), Is.EqualTo(new[] { "obj.bin" }), "no temp file left behind");
        Assert.That(await _backend.StatAsync("new/dir/obj.bin", CancellationToken.None), Is.Null);
        Assert.ThrowsAsync<BackendException>(async () => await _backend.ReadAtAsync("new/dir/obj.bin", 0, buffer, CancellationToken.None));
    }

    [Test]
    public async Task Replacing_a_file_changes_its_etag_and_reads_see_the_new_content()
    {
        await _backend.WriteAsync("obj", new MemoryStream([1, 1, 1]), CancellationToken.None);
        var before = await _backend.StatAsync("obj", CancellationToken.None);
        var buffer = new byte[3];
        await _backend.ReadAtAsync("obj", 0, buffer, CancellationToken.None);

        // Replaced outside the backend with a same-size file: the cached handle must not serve the old inode.
        var replacement = _dir.WriteFile("obj.new", [2, 2, 2]);
        File.Move(replacement, _dir.Combine("obj"), overwrite: true);
        var after = await _backend.StatAsync("obj", CancellationToken.None);
        await _backend.ReadAtAsync("obj", 0, buffer, CancellationToken.None);

        Assert.That(after!.ETag, Is.Not.EqualTo(before!.ETag));
        Assert.That(buffer, Is.EqualTo(new byte[] { 2, 2, 2 }));
    }

    [Test]
    public async Task Open_read_streams_the_whole_file()
    {
        var content = TestData.Bytes(300_000, 6);
        _dir.WriteFile("s.bin", content);

        await using var stream = await _backend.OpenReadAsync("s.bin", CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);

        Assert.That(copy.ToArray(), Is.EqualTo(content));
    }

    [Test]
    public void Reading_a_directory_or_a_missing_file_fails_with_its_kind()
    {
        Directory.CreateDirectory(_dir.Combine("d"));

        var missing = Assert.ThrowsAsync<BackendException>(async () => await _backend.ReadAtAsync("nope", 0, new byte[1], CancellationToken.None));
        var directory = Assert.ThrowsAsync<BackendException>(async () => await _backend.ReadAtAsync("d", 0, new byte[1], CancellationToken.None));

        Assert.That(missing!.Kind, Is.EqualTo(BackendErrorKind.NotFound));
        Assert.That(missing.Message, Does.StartWith("test-local: "));
        Assert.That(directory!.Kind, Is.EqualTo(BackendErrorKind.Other));
    }
}
