using System.Text;
using WarpDrive.Backends.Local;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem.Tests;

[TestFixture]
public sealed class NamespaceTests
{
    private TempTree _imagenet = null!;
    private TempTree _coco = null!;
    private TempTree _outer = null!;
    private TempTree _inner = null!;
    private WarpFileSystem _fs = null!;
    private DateTimeOffset _before;

    [SetUp]
    public void SetUp()
    {
        _imagenet = new TempTree("imagenet");
        _imagenet.WriteFile("train/n01/img0.jpg", "imagenet-0");
        _coco = new TempTree("coco");
        _coco.WriteFile("ann.json", "{}");
        _outer = new TempTree("outer");
        _outer.WriteFile("x.txt", "outer-x");
        _outer.WriteFile("b/outer-only.txt", "hidden by the inner mount");
        _inner = new TempTree("inner");
        _inner.WriteFile("inner.txt", "inner content");
        _before = DateTimeOffset.UtcNow.AddSeconds(-1);
        _fs = TestFileSystem.Create(new FileSystemOptions(),
        [
            new BackendMount("/datasets/imagenet", new LocalBackend("imagenet", _imagenet.Root)),
            new BackendMount("/datasets/coco/", new LocalBackend("coco", _coco.Root)),
            new BackendMount("/a", new LocalBackend("outer", _outer.Root)),
            new BackendMount("/a/b", new LocalBackend("inner", _inner.Root)),
            new BackendMount("/a/deep/mnt", new LocalBackend("deep", _inner.Root)),
        ]);
    }

    [TearDown]
    public void TearDown()
    {
        _fs.Destroy();
        _imagenet.Dispose();
        _coco.Dispose();
        _outer.Dispose();
        _inner.Dispose();
    }

    [Test]
    public async Task Root_lists_the_top_segments_of_every_mount()
    {
        var names = await Kernel.ListAsync(_fs, 1);

        Assert.That(names.Select(n => n.Name), Is.EqualTo(new[] { ".", "..", "a", "datasets" }));
        Assert.That(names.Skip(2).All(n => n.Type == FileAttributes.S_IFDIR >> 12), Is.True);
    }

    [Test]
    public async Task A_parent_that_exists_only_because_of_mounts_is_a_read_only_directory_listing_them()
    {
        var datasets = await Kernel.LookupAsync(_fs, "/datasets");

        Assert.That(datasets.Attributes.IsDirectory, Is.True);
        Assert.That(datasets.Attributes.Mode & 0xFFF, Is.EqualTo(0x16D));
        Assert.That(datasets.Attributes.MTime, Is.InRange(_before, DateTimeOffset.UtcNow));
        var names = await Kernel.ListAsync(_fs, datasets.NodeId);
        Assert.That(names.Select(n => n.Name), Is.EqualTo(new[] { ".", "..", "coco", "imagenet" }));
    }

    [Test]
    public async Task Files_of_a_mounted_backend_appear_below_its_mount_path()
    {
        var image = await Kernel.LookupAsync(_fs, "/datasets/imagenet/train/n01/img0.jpg");
        var open = await _fs.OpenAsync(image.NodeId, 0, Kernel.User, CancellationToken.None);

        var content = await Kernel.ReadAllAsync(_fs, image.NodeId, open.Value.Handle);

        Assert.That(Encoding.UTF8.GetString(content), Is.EqualTo("imagenet-0"));
        Assert.That(image.Attributes.Size, Is.EqualTo(10));
        Assert.That((await Kernel.LookupAsync(_fs, "/datasets/coco/ann.json")).Attributes.Size, Is.EqualTo(2));
        _fs.Release(image.NodeId, open.Value.Handle);
    }

    [Test]
    public async Task A_nested_mount_appears_in_the_outer_listing_and_shadows_the_outer_backends_entry()
    {
        var a = await Kernel.LookupAsync(_fs, "/a");

        var names = await Kernel.ListAsync(_fs, a.NodeId);

        Assert.That(names.Select(n => n.Name), Is.EqualTo(new[] { ".", "..", "b", "deep", "x.txt" }));
        var b = await Kernel.LookupAsync(_fs, "/a/b");
        var inside = await Kernel.ListAsync(_fs, b.NodeId);
        Assert.That(inside.Select(n => n.Name), Is.EqualTo(new[] { ".", "..", "inner.txt" }));
    }

    [Test]
    public async Task The_longest_mount_prefix_serves_a_path()
    {
        var inner = await Kernel.WalkAsync(_fs, "/a/b/inner.txt");
        var outerOnly = await Kernel.WalkAsync(_fs, "/a/b/outer-only.txt");
        var outer = await Kernel.WalkAsync(_fs, "/a/x.txt");

        Assert.That(inner.Value.NodeId, Is.Not.Zero);
        Assert.That(outerOnly.Value.NodeId, Is.Zero, "the outer backend's b/ is hidden by the /a/b mount");
        Assert.That(outer.Value.NodeId, Is.Not.Zero);
    }

    [Test]
    public async Task A_directory_above_a_deeper_mount_is_synthesised_inside_a_backend_that_lacks_it()
    {
        var deep = await Kernel.LookupAsync(_fs, "/a/deep");
        var mnt = await Kernel.LookupAsync(_fs, "/a/deep/mnt");

        Assert.That(deep.Attributes.IsDirectory, Is.True);
        Assert.That((await Kernel.ListAsync(_fs, deep.NodeId)).Select(n => n.Name), Is.EqualTo(new[] { ".", "..", "mnt" }));
        Assert.That((await Kernel.ListAsync(_fs, mnt.NodeId)).Select(n => n.Name), Does.Contain("inner.txt"));
    }

    [Test]
    public async Task Names_outside_every_mount_do_not_exist()
    {
        var missing = await Kernel.WalkAsync(_fs, "/nothing");
        var missingInSynthetic = await Kernel.WalkAsync(_fs, "/datasets/mnist");

        Assert.That(missing.IsOk && missing.Value.NodeId == 0, Is.True);
        Assert.That(missingInSynthetic.IsOk && missingInSynthetic.Value.NodeId == 0, Is.True);
    }

    [Test]
    public void Mount_paths_must_be_absolute_and_unique()
    {
        using var tree = new TempTree("bad");
        var backend = new LocalBackend("x", tree.Root);

        Assert.Throws<ArgumentException>(() => TestFileSystem.Create("relative", backend));
        Assert.Throws<ArgumentException>(() => TestFileSystem.Create("/", backend));
        Assert.Throws<ArgumentException>(() => TestFileSystem.Create(new FileSystemOptions(), [new BackendMount("/x", backend), new BackendMount("/x/", backend)]));
    }
}
