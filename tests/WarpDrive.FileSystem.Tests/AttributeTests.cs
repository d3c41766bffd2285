using System.Text;
using WarpDrive.Backends.Local;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem.Tests;

[TestFixture]
public sealed class AttributeTests
{
    private const int F_OK = 0;
    private const int X_OK = 1;
    private const int W_OK = 2;
    private const int R_OK = 4;
    private TempTree _tree = null!;
    private WarpFileSystem _fs = null!;
    private FuseEntry _file;
    private FuseEntry _dir;

    [SetUp]
    public async Task SetUp()
    {
        _tree = new TempTree("attrs");
        _tree.WriteFile("sub/sample.txt", "0123456789");
        _fs = TestFileSystem.Create("/data/set", new LocalBackend("attrs-store", _tree.Root), new FileSystemOptions { Uid = 1000, Gid = 1000 });
        _file = await Kernel.LookupAsync(_fs, "/data/set/sub/sample.txt");
        _dir = await Kernel.LookupAsync(_fs, "/data/set/sub");
    }

    [TearDown]
    public void TearDown()
    {
        _fs.Destroy();
        _tree.Dispose();
    }

    [Test]
    public void Files_are_read_only_and_owned_as_configured()
    {
        Assert.That(_file.Attributes.Mode, Is.EqualTo(FileAttributes.S_IFREG | 0x124));
        Assert.That(_dir.Attributes.Mode, Is.EqualTo(FileAttributes.S_IFDIR | 0x16D));
        Assert.That(_file.Attributes.Uid, Is.EqualTo(1000));
        Assert.That(_file.Attributes.Gid, Is.EqualTo(1000));
        Assert.That(_file.EntryTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(_file.AttributeTimeout, Is.EqualTo(TimeSpan.FromSeconds(30)));
    }

    [Test]
    public void Extended_attributes_name_the_backend_the_version_and_the_source()
    {
        Assert.That(GetText(_file.NodeId, "user.warpdrive.backend"), Is.EqualTo("attrs-store"));
        Assert.That(GetText(_file.NodeId, "user.warpdrive.source"), Is.EqualTo("local:sub/sample.txt"));
        Assert.That(GetText(_file.NodeId, "user.warpdrive.etag"), Is.Not.Empty);
        Assert.That(_fs.GetExtendedAttribute(_file.NodeId, "user.other", new byte[64]).Error, Is.EqualTo(Errno.ENODATA));
        Assert.That(_fs.GetExtendedAttribute(_dir.NodeId, "user.warpdrive.backend", new byte[64]).Error, Is.EqualTo(Errno.ENODATA));
    }

    [Test]
    public void An_empty_destination_asks_for_the_size_and_a_short_one_is_ERANGE()
    {
        var size = _fs.GetExtendedAttribute(_file.NodeId, "user.warpdrive.backend", []);
        var tooSmall = _fs.GetExtendedAttribute(_file.NodeId, "user.warpdrive.backend", new byte[3]);
        var listSize = _fs.ListExtendedAttributes(_file.NodeId, []);
        var listTooSmall = _fs.ListExtendedAttributes(_file.NodeId, new byte[listSize.Value - 1]);

        Assert.That(size.Value, Is.EqualTo("attrs-store".Length));
        Assert.That(tooSmall.Error, Is.EqualTo(Errno.ERANGE));
        Assert.That(listTooSmall.Error, Is.EqualTo(Errno.ERANGE));
    }

    [Test]
    public void Listing_extended_attributes_gives_nul_separated_names()
    {
        var buffer = new byte[256];

        var length = _fs.ListExtendedAttributes(_file.NodeId, buffer).Value;
        var dirLength = _fs.ListExtendedAttributes(_dir.NodeId, buffer).Value;

        Assert.That(Encoding.UTF8.GetString(buffer, 0, length).Split('\0', StringSplitOptions.RemoveEmptyEntries),
            Is.EqualTo(new[] { "user.warpdrive.backend", "user.warpdrive.etag", "user.warpdrive.source" }));
        Assert.That(buffer[length - 1], Is.Zero);
        Assert.That(dirLength, Is.Zero);
    }

    [Test]
    public void Access_allows_reading_and_searching_per_mode_and_refuses_writing()
    {
        var stranger = new FuseRequestContext(4321, 4321, 1);

        Assert.That(_fs.Access(_file.NodeId, F_OK, stranger), Is.EqualTo(Errno.Ok));
        Assert.That(_fs.Access(_file.NodeId, R_OK, stranger), Is.EqualTo(Errno.Ok));
        Assert.That(_fs.Access(_file.NodeId, X_OK, stranger), Is.EqualTo(Errno.EACCES));
        Assert.That(_fs.Access(_dir.NodeId, R_OK | X_OK, stranger), Is.EqualTo(Errno.Ok));
        Assert.That(_fs.Access(_file.NodeId, W_OK, stranger), Is.EqualTo(Errno.EROFS));
        Assert.That(_fs.Access(1, X_OK, Kernel.User), Is.EqualTo(Errno.Ok));
    }

    [Test]
    public void Statfs_without_a_capacity_reports_no_blocks()
    {
        var statfs = _fs.StatFs(1).Value;

        Assert.That(statfs.BlockSize, Is.EqualTo(4096));
        Assert.That(statfs.NameLength, Is.EqualTo(255));
        Assert.That((statfs.Blocks, statfs.BlocksFree, statfs.BlocksAvailable), Is.EqualTo((0UL, 0UL, 0UL)));
        Assert.That(statfs.FilesFree, Is.GreaterThan(1UL << 20));
    }

    [Test]
    public void Statfs_reports_the_capacity_it_is_given_at_each_call()
    {
        var used = 1L << 20;
        var fs = TestFileSystem.Create("/m", new LocalBackend("cap", _tree.Root),
            new FileSystemOptions { Capacity = () => new StorageCapacity(64L << 20, used) });

        var first = fs.StatFs(1).Value;
        used = 80L << 20; // more than the total: reported as full, never as negative free space
        var second = fs.StatFs(1).Value;

        Assert.That((first.Blocks, first.BlocksFree, first.BlocksAvailable), Is.EqualTo((16384UL, 16128UL, 16128UL)));
        Assert.That((second.Blocks, second.BlocksFree, second.BlocksAvailable), Is.EqualTo((16384UL, 0UL, 0UL)));
    }

    [Test]
    public async Task Seek_finds_data_before_the_end_and_the_hole_at_the_end()
    {
        var open = await _fs.OpenAsync(_file.NodeId, 0, Kernel.User, CancellationToken.None);
        var handle = open.Value.Handle;

        Assert.That((await _fs.SeekAsync(_file.NodeId, handle, 4, 3, CancellationToken.None)).Value, Is.EqualTo(4));
        Assert.That((await _fs.SeekAsync(_file.NodeId, handle, 10, 3, CancellationToken.None)).Error, Is.EqualTo(Errno.ENXIO));
        Assert.That((await _fs.SeekAsync(_file.NodeId, handle, 4, 4, CancellationToken.None)).Value, Is.EqualTo(10));
        Assert.That((await _fs.SeekAsync(_file.NodeId, handle, -1, 3, CancellationToken.None)).Error, Is.EqualTo(Errno.EINVAL));
        _fs.Release(_file.NodeId, handle);
    }

    [Test]
    public async Task Opening_for_writing_is_EROFS()
    {
        const int O_WRONLY = 1;

        var open = await _fs.OpenAsync(_file.NodeId, O_WRONLY, Kernel.User, CancellationToken.None);

        Assert.That(open.Error, Is.EqualTo(Errno.EROFS));
    }

    private string GetText(ulong nodeId, string name)
    {
        var buffer = new byte[256];
        var result = _fs.GetExtendedAttribute(nodeId, name, buffer);
        Assert.That(result.IsOk, Is.True, $"{name}: {result}");
        return Encoding.UTF8.GetString(buffer, 0, result.Value);
    }
}
