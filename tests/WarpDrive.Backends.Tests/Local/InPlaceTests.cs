using WarpDrive.Backends.Local;

namespace WarpDrive.Backends.Tests.Local;

/// <summary>
/// Whether a local backend is served in place (config serve_in_place, decided by statfs f_type for auto), and the
/// version-checked open the cache hands to the kernel.
/// </summary>
[TestFixture]
public sealed class InPlaceTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory("inplace");

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private LocalBackend Create(string? serveInPlace)
    {
        var config = new Dictionary<string, string> { ["root"] = _dir.Path };
        if (serveInPlace is not null)
        {
            config["serve_in_place"] = serveInPlace;
        }

        return (LocalBackend)BackendFactory.Create("inplace", "local", config);
    }

    [Test]
    public async Task AutoFollowsTheFileSystemTypeOfTheRoot()
    {
        // The temp directory's own file system, read independently of the backend with stat -f.
        var type = Convert.ToInt64(RunStat(_dir.Path), 16);
        await using var backend = Create(null);

        Assert.That(backend.FileSystemType, Is.EqualTo(type));
        Assert.That(backend.ServesInPlace, Is.EqualTo(SourceFileSystem.IsLocal(type)));
    }

    [TestCase("true", true)]
    [TestCase("false", false)]
    public async Task TheConfigKeyOverridesTheDecision(string value, bool expected)
    {
        await using var backend = Create(value);

        Assert.That(backend.ServesInPlace, Is.EqualTo(expected));
    }

    [Test]
    public void AnUnknownValueIsRefusedNamingTheKey()
    {
        var error = Assert.Throws<BackendConfigException>(() => Create("sometimes"));

        Assert.That(error!.Message, Does.Contain("config.serve_in_place").And.Contain("\"sometimes\"").And.Contain("auto, true, false"));
    }

    [TestCase(0xEF53L, true)] // ext4
    [TestCase(0x58465342L, true)] // xfs
    [TestCase(0x01021994L, true)] // tmpfs
    [TestCase(0x6969L, false)] // nfs
    [TestCase(0xFF534D42L, false)] // cifs
    [TestCase(0x65735546L, false)] // fuse
    [TestCase(0x0BD00BD0L, false)] // lustre
    [TestCase(0x12345678L, false)] // unknown: treated as remote
    public void OnlyLocalDiskFileSystemsCountAsLocal(long type, bool local) =>
        Assert.That(SourceFileSystem.IsLocal(type), Is.EqualTo(local));

    [Test]
    public async Task TryOpenVersionOpensTheSourceOnlyForItsVersion()
    {
        _dir.WriteFile("d/f.bin", [1, 2, 3, 4]);
        await using var backend = Create("true");
        var version = await backend.StatAsync("d/f.bin", CancellationToken.None);

        using (var handle = backend.TryOpenVersion("d/f.bin", version!.ETag))
        {
            Assert.That(handle, Is.Not.Null);
            var bytes = new byte[4];
            Assert.That(RandomAccess.Read(handle!, bytes, 0), Is.EqualTo(4));
            Assert.That(bytes, Is.EqualTo(new byte[] { 1, 2, 3, 4 }));
        }

        Assert.That(backend.TryOpenVersion("d/f.bin", "1-2-3"), Is.Null, "another version");
        Assert.That(backend.TryOpenVersion("d", ""), Is.Null, "a directory");
        Assert.That(backend.TryOpenVersion("missing", ""), Is.Null);
        Assert.That(backend.TryOpenVersion("../etc/passwd", ""), Is.Null, "outside the root");
    }

    [Test]
    public async Task ASymlinkLeavingTheRootIsNotOpened()
    {
        using var outside = new TempDirectory("inplace-outside");
        var target = outside.WriteFile("secret", [9]);
        File.CreateSymbolicLink(_dir.Combine("link"), target);
        await using var backend = Create("true");

        Assert.That(backend.TryOpenVersion("link", ""), Is.Null);
    }

    private static string RunStat(string path)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-f", "-c", "%t", path]) { RedirectStandardOutput = true })!;
        var output = process.StandardOutput.ReadToEnd().Trim();
        process.WaitForExit();
        return output;
    }
}
