using WarpDrive.Backends;
using WarpDrive.Backends.Local;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem.Tests;

[TestFixture]
public sealed class ErrorMappingTests
{
    private TempTree _tree = null!;
    private FaultInjectingBackend _backend = null!;
    private CapturingLogger _logger = null!;
    private WarpFileSystem _fs = null!;

    [SetUp]
    public void SetUp()
    {
        _tree = new TempTree("faults");
        _tree.WriteFile("dir/file.bin", new byte[10_000]);
        _backend = new FaultInjectingBackend(new LocalBackend("flaky-store", _tree.Root));
        _logger = new CapturingLogger();
        _fs = TestFileSystem.Create("/m", _backend, new FileSystemOptions { DirCacheTtl = TimeSpan.Zero }, _logger);
    }

    [TearDown]
    public async Task TearDown()
    {
        _fs.Destroy();
        await _backend.DisposeAsync();
        _tree.Dispose();
    }

    [TestCase(BackendErrorKind.NotFound, Errno.ENOENT)]
    [TestCase(BackendErrorKind.AccessDenied, Errno.EACCES)]
    [TestCase(BackendErrorKind.Throttled, Errno.EAGAIN)]
    [TestCase(BackendErrorKind.Unavailable, Errno.EIO)]
    [TestCase(BackendErrorKind.Timeout, Errno.EIO)]
    [TestCase(BackendErrorKind.Other, Errno.EIO)]
    public async Task A_failing_stat_during_lookup_becomes_its_errno_and_one_log_line(BackendErrorKind kind, Errno expected)
    {
        _backend.FailStat = kind;

        var result = await Kernel.WalkAsync(_fs, "/m/dir");

        Assert.That(result.Error, Is.EqualTo(expected));
        Assert.That(_fs.Stats.Errors, Is.EqualTo(1));
        Assert.That(_logger.Lines, Has.Count.EqualTo(1));
        Assert.That(_logger.Lines.Single(), Does.Contain("flaky-store").And.Contain("'dir'").And.Contain(expected.ToString()));
    }

    [Test]
    public async Task A_failing_listing_fails_opendir_with_its_errno()
    {
        var dir = await Kernel.LookupAsync(_fs, "/m/dir");
        _backend.FailList = BackendErrorKind.AccessDenied;

        var open = await _fs.OpenDirectoryAsync(dir.NodeId, Kernel.User, CancellationToken.None);

        Assert.That(open.Error, Is.EqualTo(Errno.EACCES));
        Assert.That(_logger.Lines.Single(), Does.Contain("readdir").And.Contain("flaky-store"));
    }

    [Test]
    public async Task A_throttled_read_is_EAGAIN()
    {
        var handle = await OpenFileAsync();
        _backend.FailRead = BackendErrorKind.Throttled;

        var read = await _fs.ReadAsync(0, handle, 0, new byte[100], CancellationToken.None);

        Assert.That(read.Error, Is.EqualTo(Errno.EAGAIN));
    }

    [Test]
    public async Task An_object_replaced_while_open_makes_the_handle_stale_instead_of_mixing_versions()
    {
        var handle = await OpenFileAsync();
        _backend.FailRead = BackendErrorKind.Changed;
        _backend.FailReadTimes = 1;

        var read = await _fs.ReadAsync(0, handle, 0, new byte[100], CancellationToken.None);

        Assert.That(read.Error, Is.EqualTo(Errno.ESTALE));
        Assert.That(_logger.Lines.Single(), Does.Contain("read").And.Contain("dir/file.bin"));
        var reopened = await OpenFileAsync();
        var fresh = await _fs.ReadAsync(0, reopened, 0, new byte[100], CancellationToken.None);
        Assert.That(fresh.Value, Is.EqualTo(100), "a new open reads the current version");
    }

    [Test]
    public async Task A_missing_name_is_a_negative_entry_cached_for_the_negative_ttl()
    {
        var result = await Kernel.WalkAsync(_fs, "/m/dir/nope");

        Assert.That(result.IsOk, Is.True);
        Assert.That(result.Value.NodeId, Is.Zero);
        Assert.That(result.Value.EntryTimeout, Is.EqualTo(TimeSpan.FromSeconds(5)));
        Assert.That(_fs.Stats.Errors, Is.Zero, "absence is not a failure");
    }

    [Test]
    public async Task Without_a_negative_ttl_a_missing_name_is_ENOENT()
    {
        var fs = TestFileSystem.Create("/m", _backend, new FileSystemOptions { NegativeTtl = TimeSpan.Zero });

        var result = await Kernel.WalkAsync(fs, "/m/dir/nope");

        Assert.That(result.Error, Is.EqualTo(Errno.ENOENT));
    }

    private async Task<ulong> OpenFileAsync()
    {
        var file = await Kernel.LookupAsync(_fs, "/m/dir/file.bin");
        var open = await _fs.OpenAsync(file.NodeId, 0, Kernel.User, CancellationToken.None);
        Assert.That(open.IsOk, Is.True);
        return open.Value.Handle;
    }
}
