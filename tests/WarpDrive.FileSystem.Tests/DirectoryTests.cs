using WarpDrive.Backends.Local;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem.Tests;

[TestFixture]
public sealed class DirectoryTests
{
    private TempTree _tree = null!;

    [SetUp]
    public void SetUp() => _tree = new TempTree("dirs");

    [TearDown]
    public void TearDown() => _tree.Dispose();

    [Test]
    public async Task Ten_thousand_entries_page_over_many_small_readdir_replies_with_stable_offsets()
    {
        var names = CreateFiles("big", 10_000);
        var fs = TestFileSystem.Create("/m", new LocalBackend("dirs", _tree.Root));
        var big = await Kernel.LookupAsync(fs, "/m/big");

        var listed = await Kernel.ListAsync(fs, big.NodeId, plus: false, bufferSize: 1024);

        Assert.That(listed.Select(n => n.Name), Is.EqualTo(new[] { ".", ".." }.Concat(names)));
        Assert.That(listed.Select(n => n.NextOffset), Is.EqualTo(Enumerable.Range(1, listed.Count).Select(i => (long)i)));
        Assert.That(listed[0].Ino, Is.EqualTo(big.NodeId));
        Assert.That(listed.Skip(2).Select(n => n.Ino).Distinct().Count(), Is.EqualTo(10_000));
        Assert.That(listed.Skip(2).All(n => n.Type == FileAttributes.S_IFREG >> 12), Is.True);
        Assert.That(fs.LiveNodeCount, Is.EqualTo(3), "plain READDIR takes no references");
    }

    [Test]
    public async Task Readdir_resumes_from_any_offset_it_handed_out()
    {
        var names = CreateFiles("d", 50);
        var fs = TestFileSystem.Create("/m", new LocalBackend("dirs", _tree.Root));
        var d = await Kernel.LookupAsync(fs, "/m/d");

        var tail = await Kernel.ListAsync(fs, d.NodeId, offset: 30);

        Assert.That(tail.Select(n => n.Name), Is.EqualTo(names.Skip(28)));
    }

    [Test]
    public async Task Readdirplus_takes_one_reference_per_entry_that_fit_and_none_for_dot_entries()
    {
        var names = CreateFiles("big", 10_000);
        var fs = TestFileSystem.Create("/m", new LocalBackend("dirs", _tree.Root));
        var big = await Kernel.LookupAsync(fs, "/m/big");

        var listed = await Kernel.ListAsync(fs, big.NodeId, plus: true, bufferSize: 4096);

        Assert.That(listed.Select(n => n.Name), Is.EqualTo(new[] { ".", ".." }.Concat(names)));
        Assert.That(listed.Take(2).Select(n => n.NodeId), Is.All.Zero);
        var entries = listed.Skip(2).ToList();
        Assert.That(entries.Select(n => n.NodeId), Is.All.Not.Zero);
        Assert.That(entries.All(n => n.NodeId == n.Ino), Is.True);
        Assert.That(entries.All(n => fs.LookupCountOf(n.NodeId) == 1), Is.True, "exactly one reference per entry, none for entries retried on the next page");
        Assert.That(fs.LookupCountOf(big.NodeId), Is.EqualTo(1), "'.' took no reference");
        Assert.That(fs.LiveNodeCount, Is.EqualTo(3 + 10_000));

        var again = await Kernel.LookupAsync(fs, "/m/big/" + names[17]);
        Assert.That(again.NodeId, Is.EqualTo(entries[17].NodeId));
        Assert.That(fs.LookupCountOf(again.NodeId), Is.EqualTo(2));
        fs.Forget(again.NodeId, 2);
        Assert.That(fs.LookupCountOf(again.NodeId), Is.Zero);
    }

    [Test]
    public async Task An_open_directory_keeps_the_listing_it_started_with()
    {
        CreateFiles("d", 3);
        var fs = TestFileSystem.Create("/m", new LocalBackend("dirs", _tree.Root), new FileSystemOptions { DirCacheTtl = TimeSpan.Zero });
        var d = await Kernel.LookupAsync(fs, "/m/d");
        var open = await fs.OpenDirectoryAsync(d.NodeId, Kernel.User, CancellationToken.None);
        var firstPage = await Kernel.ReadPagesAsync(fs, d.NodeId, open.Value.Handle, plus: false, bufferSize: 64, offset: 0);

        _tree.WriteFile("d/zzz-new", "");
        var rest = await Kernel.ReadPagesAsync(fs, d.NodeId, open.Value.Handle, plus: false, bufferSize: 4096, offset: firstPage[^1].NextOffset);
        fs.ReleaseDirectory(d.NodeId, open.Value.Handle);
        var reopened = await Kernel.ListAsync(fs, d.NodeId);

        Assert.That(firstPage.Concat(rest).Select(n => n.Name), Does.Not.Contain("zzz-new"));
        Assert.That(firstPage.Concat(rest).Count(), Is.EqualTo(5));
        Assert.That(reopened.Select(n => n.Name), Does.Contain("zzz-new"), "a TTL of zero lists afresh on the next open");
    }

    [Test]
    public async Task DropCaches_lists_and_stats_afresh_before_the_ttl_runs_out()
    {
        CreateFiles("d", 1);
        _tree.WriteFile("d/changing", "old");
        var fs = TestFileSystem.Create("/m", new LocalBackend("dirs", _tree.Root), new FileSystemOptions { DirCacheTtl = TimeSpan.FromHours(1), AttrTtl = TimeSpan.FromHours(1) });
        var d = await Kernel.LookupAsync(fs, "/m/d");
        await Kernel.ListAsync(fs, d.NodeId);
        var changing = await Kernel.LookupAsync(fs, "/m/d/changing");
        _tree.WriteFile("d/zzz-new", "");
        _tree.WriteFile("d/changing", "new and longer");

        var cached = await Kernel.ListAsync(fs, d.NodeId);
        var cachedSize = (await fs.GetAttributesAsync(changing.NodeId, null, CancellationToken.None)).Value.Attributes.Size;
        fs.DropCaches();
        var fresh = await Kernel.ListAsync(fs, d.NodeId);
        var freshAttributes = await fs.GetAttributesAsync(changing.NodeId, null, CancellationToken.None);

        Assert.That(cached.Select(n => n.Name), Does.Not.Contain("zzz-new"), "cached for the hour (the premise)");
        Assert.That(cachedSize, Is.EqualTo(3UL));
        Assert.That(fresh.Select(n => n.Name), Does.Contain("zzz-new"));
        // The re-stat finds another version: that inode answers ESTALE and the kernel looks the name up again.
        Assert.That(freshAttributes.Error, Is.EqualTo(Errno.ESTALE));
    }

    [Test]
    public async Task Listings_are_cached_for_the_ttl_and_answer_lookups()
    {
        CreateFiles("d", 3);
        var backend = new FaultInjectingBackend(new LocalBackend("dirs", _tree.Root));
        var fs = TestFileSystem.Create("/m", backend);
        var d = await Kernel.LookupAsync(fs, "/m/d");

        await Kernel.ListAsync(fs, d.NodeId);
        await Kernel.ListAsync(fs, d.NodeId);
        var statsBefore = backend.StatCalls;
        var child = await fs.LookupAsync(d.NodeId, "f00000", Kernel.User, CancellationToken.None);
        var missing = await fs.LookupAsync(d.NodeId, "absent", Kernel.User, CancellationToken.None);

        Assert.That(backend.ListCalls, Is.EqualTo(1));
        Assert.That(child.Value.NodeId, Is.Not.Zero);
        Assert.That(missing.Value.NodeId, Is.Zero);
        Assert.That(backend.StatCalls, Is.EqualTo(statsBefore), "lookups in a fresh listing need no stat");
    }

    [Test]
    public async Task The_listing_cache_evicts_the_least_recently_used_directory()
    {
        CreateFiles("d1", 1);
        CreateFiles("d2", 1);
        var backend = new FaultInjectingBackend(new LocalBackend("dirs", _tree.Root));
        var fs = TestFileSystem.Create("/m", backend, new FileSystemOptions { DirCacheEntries = 1 });
        var d1 = await Kernel.LookupAsync(fs, "/m/d1");
        var d2 = await Kernel.LookupAsync(fs, "/m/d2");

        await Kernel.ListAsync(fs, d1.NodeId);
        await Kernel.ListAsync(fs, d1.NodeId);
        await Kernel.ListAsync(fs, d2.NodeId);
        await Kernel.ListAsync(fs, d1.NodeId);

        Assert.That(backend.ListCalls, Is.EqualTo(3));
    }

    [Test]
    public async Task Opening_a_file_as_a_directory_is_ENOTDIR_and_a_directory_as_a_file_is_EISDIR()
    {
        CreateFiles("d", 1);
        var fs = TestFileSystem.Create("/m", new LocalBackend("dirs", _tree.Root));
        var d = await Kernel.LookupAsync(fs, "/m/d");
        var f = await Kernel.LookupAsync(fs, "/m/d/f00000");

        Assert.That((await fs.OpenDirectoryAsync(f.NodeId, Kernel.User, CancellationToken.None)).Error, Is.EqualTo(Errno.ENOTDIR));
        Assert.That((await fs.OpenAsync(d.NodeId, 0, Kernel.User, CancellationToken.None)).Error, Is.EqualTo(Errno.EISDIR));
        Assert.That((await fs.LookupAsync(f.NodeId, "x", Kernel.User, CancellationToken.None)).Error, Is.EqualTo(Errno.ENOTDIR));
    }

    private List<string> CreateFiles(string directory, int count)
    {
        _tree.Directory(directory);
        var names = Enumerable.Range(0, count).Select(i => $"f{i:D5}").ToList();
        foreach (var name in names)
        {
            File.WriteAllBytes(_tree.PathOf(Path.Combine(directory, name)), []);
        }

        return names;
    }
}
