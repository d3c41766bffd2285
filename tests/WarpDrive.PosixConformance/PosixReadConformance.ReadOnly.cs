namespace WarpDrive.PosixConformance;

/// <summary>Every way of changing the tree fails with EROFS, and nothing changes.</summary>
public abstract partial class PosixReadConformance
{
    private const string ExistingFile = "top.txt";
    private const string ExistingDirectory = "deep/level-01";
    private const string NewName = "created-by-a-test";

    public static IEnumerable<TestCaseData> WriteOperations()
    {
        yield return Case("create", (f, _, n) => PosixCalls.OpenErrno(n, PosixCalls.O_WRONLY | PosixCalls.O_CREAT | PosixCalls.O_EXCL, 420));
        yield return Case("open for write", (f, _, _) => PosixCalls.OpenErrno(f, PosixCalls.O_WRONLY));
        yield return Case("open for append", (f, _, _) => PosixCalls.OpenErrno(f, PosixCalls.O_WRONLY | PosixCalls.O_APPEND));
        yield return Case("open read-write", (f, _, _) => PosixCalls.OpenErrno(f, PosixCalls.O_RDWR));
        yield return Case("open with O_TRUNC", (f, _, _) => PosixCalls.OpenErrno(f, PosixCalls.O_WRONLY | PosixCalls.O_TRUNC));
        yield return Case("truncate", (f, _, _) => PosixCalls.ErrnoOf(() => PosixCalls.Truncate(f, 0)));
        yield return Case("unlink", (f, _, _) => PosixCalls.ErrnoOf(() => PosixCalls.Unlink(f)));
        yield return Case("mkdir", (_, _, n) => PosixCalls.ErrnoOf(() => PosixCalls.Mkdir(n, 493)));
        yield return Case("rmdir", (_, d, _) => PosixCalls.ErrnoOf(() => PosixCalls.Rmdir(d)));
        yield return Case("rename file", (f, _, n) => PosixCalls.ErrnoOf(() => PosixCalls.Rename(f, n)));
        yield return Case("rename directory", (_, d, n) => PosixCalls.ErrnoOf(() => PosixCalls.Rename(d, n)));
        yield return Case("chmod", (f, _, _) => PosixCalls.ErrnoOf(() => PosixCalls.Chmod(f, 438)));
        yield return Case("chown", (f, _, _) => PosixCalls.ErrnoOf(() => PosixCalls.Chown(f, 1, 1)));
        yield return Case("set times", (f, _, _) => PosixCalls.ErrnoOf(() => PosixCalls.TouchNow(f)));
        yield return Case("symlink", (f, _, n) => PosixCalls.ErrnoOf(() => PosixCalls.Symlink(f, n)));
        yield return Case("hard link", (f, _, n) => PosixCalls.ErrnoOf(() => PosixCalls.Link(f, n)));

        static TestCaseData Case(string name, Func<string, string, string, int> operation) =>
            new TestCaseData(name, operation).SetArgDisplayNames(name);
    }

    /// <param name="operation">Given an existing file, an existing directory and a new name (all mounted paths); returns the errno.</param>
    [TestCaseSource(nameof(WriteOperations))]
    public void WritePathsFailWithErofs(string name, Func<string, string, string, int> operation)
    {
        var file = Mounted(ExistingFile);
        var directory = Mounted(ExistingDirectory);
        var created = Mounted(NewName);
        var errno = operation(file, directory, created);
        Assert.Multiple(() =>
        {
            Assert.That(errno, Is.EqualTo(PosixCalls.EROFS), $"{name} on {file} / {directory} / {created}: errno {errno}, expected EROFS");
            Assert.That(PosixCalls.Stat(file).Size, Is.EqualTo(Dataset[ExistingFile].Length), $"{file} changed size after {name}");
            Assert.That(PosixCalls.StatErrno(created), Is.EqualTo(PosixCalls.ENOENT), $"{created} exists after {name}");
            Assert.That(Directory.Exists(directory), Is.True, $"{directory} is gone after {name}");
        });
    }

    [Test]
    public void DotNetWritesSurfaceErofs()
    {
        var file = Mounted(ExistingFile);
        Assert.Multiple(() =>
        {
            Assert.That(() => File.AppendAllText(file, "x"), Throws.InstanceOf<IOException>().With.Property(nameof(IOException.HResult)).EqualTo(PosixCalls.EROFS), $"append to {file}");
            Assert.That(() => File.WriteAllBytes(Mounted(NewName), [1]), Throws.InstanceOf<IOException>().With.Property(nameof(IOException.HResult)).EqualTo(PosixCalls.EROFS), $"create {Mounted(NewName)}");
            Assert.That(() => File.Delete(file), Throws.InstanceOf<IOException>().With.Property(nameof(IOException.HResult)).EqualTo(PosixCalls.EROFS), $"delete {file}");
        });
        Assert.That(DatasetContent.DescribeMismatch(ExistingFile, file, 0, File.ReadAllBytes(file)), Is.Null);
    }
}
