using System.Text;
using WarpDrive.Backends.Local;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem.Tests;

[TestFixture]
public sealed class OpenReadTests
{
    private static readonly TimeSpan ShortStatTtl = TimeSpan.FromMilliseconds(50);
    private TempTree _tree = null!;

    [SetUp]
    public void SetUp() => _tree = new TempTree("open");

    [TearDown]
    public void TearDown() => _tree.Dispose();

    [Test]
    public async Task Reads_return_the_file_content_and_are_counted()
    {
        var content = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();
        _tree.WriteFile("data.bin", content);
        var fs = TestFileSystem.Create("/m", new LocalBackend("open", _tree.Root));
        var file = await Kernel.LookupAsync(fs, "/m/data.bin");
        var open = await fs.OpenAsync(file.NodeId, 0, Kernel.User, CancellationToken.None);

        var read = await Kernel.ReadAllAsync(fs, file.NodeId, open.Value.Handle, chunk: 32 * 1024);

        Assert.That(read, Is.EqualTo(content));
        Assert.That(fs.Stats.BytesRead, Is.EqualTo(content.Length));
        Assert.That(fs.Stats.Reads, Is.EqualTo(5), "four full chunks, then the short one");
        Assert.That(fs.Stats.Lookups, Is.EqualTo(2));
        fs.Release(file.NodeId, open.Value.Handle);
        Assert.That(fs.OpenFileCount, Is.Zero);
    }

    [Test]
    public async Task Reopening_an_unchanged_file_keeps_the_page_cache_and_a_replaced_one_is_a_new_inode()
    {
        _tree.WriteFile("f.txt", "version one");
        var fs = TestFileSystem.Create("/m", new LocalBackend("open", _tree.Root), new FileSystemOptions { StatTtl = ShortStatTtl });
        var file = await Kernel.LookupAsync(fs, "/m/f.txt");

        var first = await OpenReadReleaseAsync(fs, file.NodeId);
        await Task.Delay(ShortStatTtl * 3); // past the stat TTL: the next open re-stats and finds the same ETag
        var unchanged = await OpenReadReleaseAsync(fs, file.NodeId);
        _tree.WriteFile("f.txt", "version two, longer");
        File.SetLastWriteTimeUtc(_tree.PathOf("f.txt"), DateTime.UtcNow.AddMinutes(1));
        await Task.Delay(ShortStatTtl * 3);
        var staleOpen = await fs.OpenAsync(file.NodeId, 0, Kernel.User, CancellationToken.None);
        var replaced = await Kernel.LookupAsync(fs, "/m/f.txt"); // what the kernel does after ESTALE (LOOKUP_REVAL)
        var changed = await OpenReadReleaseAsync(fs, replaced.NodeId);

        Assert.That(first.Flags.HasFlag(FuseOpenFlags.KeepCache), Is.False, "nothing is known of the kernel's cache at the first open");
        Assert.That(unchanged.Flags.HasFlag(FuseOpenFlags.KeepCache), Is.True);
        Assert.That(staleOpen.Error, Is.EqualTo(Errno.ESTALE), "the old version's inode is stale");
        Assert.That(replaced.NodeId, Is.Not.EqualTo(file.NodeId), "the new version is a new inode");
        Assert.That(replaced.Attributes.Size, Is.EqualTo(19));
        Assert.That(changed.Flags.HasFlag(FuseOpenFlags.KeepCache), Is.False);
        Assert.That(changed.Content, Is.EqualTo("version two, longer"));
    }

    [Test]
    public async Task Within_the_stat_ttl_an_open_trusts_what_it_knows()
    {
        _tree.WriteFile("f.txt", "12345");
        var backend = new FaultInjectingBackend(new LocalBackend("open", _tree.Root));
        var fs = TestFileSystem.Create("/m", backend, new FileSystemOptions { StatTtl = TimeSpan.FromHours(1) });
        var file = await Kernel.LookupAsync(fs, "/m/f.txt");
        var statsAfterLookup = backend.StatCalls;

        await OpenReadReleaseAsync(fs, file.NodeId);
        await OpenReadReleaseAsync(fs, file.NodeId);

        Assert.That(backend.StatCalls, Is.EqualTo(statsAfterLookup));
    }

    [Test]
    public async Task Getattr_restats_after_the_attr_ttl_and_a_replaced_file_is_stale_except_through_its_open_handle()
    {
        _tree.WriteFile("f.txt", "12345");
        var fs = TestFileSystem.Create("/m", new LocalBackend("open", _tree.Root), new FileSystemOptions { AttrTtl = TimeSpan.FromMilliseconds(50) });
        var file = await Kernel.LookupAsync(fs, "/m/f.txt");
        await Task.Delay(150);
        var unchanged = await fs.GetAttributesAsync(file.NodeId, null, CancellationToken.None);
        var handle = (await fs.OpenAsync(file.NodeId, 0, Kernel.User, CancellationToken.None)).Value.Handle;

        _tree.WriteFile("f.txt", "1234567890");
        await Task.Delay(150);
        var stale = await fs.GetAttributesAsync(file.NodeId, null, CancellationToken.None);
        var throughHandle = await fs.GetAttributesAsync(file.NodeId, handle, CancellationToken.None);
        var replaced = await Kernel.LookupAsync(fs, "/m/f.txt");

        Assert.That(unchanged.Value.Attributes.Size, Is.EqualTo(5));
        Assert.That(unchanged.Value.Timeout, Is.EqualTo(TimeSpan.FromMilliseconds(50)));
        Assert.That(stale.Error, Is.EqualTo(Errno.ESTALE), "stat by path: the kernel looks the name up again");
        Assert.That(throughHandle.Value.Attributes.Size, Is.EqualTo(5), "fstat of the file opened before the change keeps its version");
        Assert.That(replaced.NodeId, Is.Not.EqualTo(file.NodeId));
        Assert.That(replaced.Attributes.Size, Is.EqualTo(10));
    }

    [Test]
    public async Task A_file_deleted_after_lookup_is_ENOENT_at_open()
    {
        _tree.WriteFile("f.txt", "x");
        var fs = TestFileSystem.Create("/m", new LocalBackend("open", _tree.Root), new FileSystemOptions { StatTtl = TimeSpan.Zero });
        var file = await Kernel.LookupAsync(fs, "/m/f.txt");

        File.Delete(_tree.PathOf("f.txt"));

        Assert.That((await fs.OpenAsync(file.NodeId, 0, Kernel.User, CancellationToken.None)).Error, Is.EqualTo(Errno.ENOENT));
    }

    [Test]
    public async Task Unknown_handles_and_nodes_are_errors_not_exceptions()
    {
        var fs = TestFileSystem.Create("/m", new LocalBackend("open", _tree.Root));

        Assert.That((await fs.ReadAsync(1, 999, 0, new byte[10], CancellationToken.None)).Error, Is.EqualTo(Errno.EBADF));
        Assert.That((await fs.OpenAsync(424242, 0, Kernel.User, CancellationToken.None)).Error, Is.EqualTo(Errno.ENOENT));
        Assert.That((await fs.GetAttributesAsync(424242, null, CancellationToken.None)).Error, Is.EqualTo(Errno.ENOENT));
        Assert.That((await fs.ReadDirectoryAsync(1, 999, 0, new DirectoryEntryWriter(), CancellationToken.None)), Is.EqualTo(Errno.EBADF));
        Assert.DoesNotThrow(() => fs.Release(1, 999));
    }

    private static async Task<(FuseOpenFlags Flags, string Content)> OpenReadReleaseAsync(WarpFileSystem fs, ulong nodeId)
    {
        var open = await fs.OpenAsync(nodeId, 0, Kernel.User, CancellationToken.None);
        Assert.That(open.IsOk, Is.True, $"open: {open}");
        var content = await Kernel.ReadAllAsync(fs, nodeId, open.Value.Handle);
        fs.Release(nodeId, open.Value.Handle);
        return (open.Value.Flags, Encoding.UTF8.GetString(content));
    }
}
