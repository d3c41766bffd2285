using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace WarpDrive.PosixConformance;

/// <summary>Stat, listings, statfs and the errors of lookups that cannot succeed.</summary>
public abstract partial class PosixReadConformance
{
    [Test]
    public void EveryFileIsAReadOnlyRegularFileOfItsSize()
    {
        var failures = new List<string>();
        foreach (var file in Dataset.Files)
        {
            var path = Mounted(file.RelativePath);
            if (!PosixCalls.TryStat(path, out var status, out var errno))
            {
                failures.Add($"{path}: statx failed with errno {errno}");
                continue;
            }

            if (!status.IsRegularFile)
            {
                failures.Add($"{path}: mode {status.ModeOctal} is not a regular file");
            }

            if (status.Size != file.Length)
            {
                failures.Add($"{path}: size {status.Size}, expected {file.Length}");
            }

            if (status.HasWriteBits)
            {
                failures.Add($"{path}: mode {status.ModeOctal} has write bits");
            }

            var accessErrno = PosixCalls.ErrnoOf(() => PosixCalls.Access(path, PosixCalls.W_OK));
            if (accessErrno != PosixCalls.EROFS)
            {
                failures.Add($"{path}: access(W_OK) gave errno {accessErrno}, expected EROFS ({PosixCalls.EROFS})");
            }
        }

        Assert.That(failures, Is.Empty, string.Join('\n', failures.Take(20)));
    }

    [Test]
    public void EveryDirectoryIsAReadOnlyDirectory()
    {
        foreach (var directory in Dataset.Directories)
        {
            var path = Mounted(directory);
            var status = PosixCalls.Stat(path);
            Assert.That(status.IsDirectory, Is.True, $"{path}: mode {status.ModeOctal} is not a directory");
            Assert.That(status.HasWriteBits, Is.False, $"{path}: mode {status.ModeOctal} has write bits");
        }
    }

    [Test]
    public void GetdentsListsEveryDirectoryExactly()
    {
        foreach (var directory in Dataset.Directories)
        {
            var path = Mounted(directory);
            var names = Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).ToList();
            Assert.That(names, Is.EquivalentTo(Dataset.ChildrenOf(directory)), $"listing of {path}");
            Assert.That(names, Is.Unique, $"listing of {path} repeats a name");
        }
    }

    [Test]
    public void LargeDirectoryListsEveryEntryOnce()
    {
        var path = Mounted(ConformanceDataset.LargeDirectoryName);
        var names = Directory.EnumerateFiles(path).Select(Path.GetFileName).ToList();
        Assert.That(names, Has.Count.EqualTo(LargeDirectoryEntryCount), $"entries of {path}");
        Assert.That(names, Is.Unique, $"listing of {path} repeats a name");
        Assert.That(names, Is.EquivalentTo(Dataset.ChildrenOf(ConformanceDataset.LargeDirectoryName)), $"listing of {path}");
    }

    [Test]
    public async Task LsLongListingShowsNamesTypesAndSizes()
    {
        // ls -la stats every entry it lists, which the kernel answers from READDIRPLUS when the server offers it.
        foreach (var directory in Dataset.Directories)
        {
            var path = Mounted(directory);
            var listed = await LsLongAsync(path);
            Assert.That(listed.Keys, Is.EquivalentTo(Dataset.ChildrenOf(directory)), $"ls -la {path}");
            foreach (var (name, (mode, size)) in listed)
            {
                var relative = directory.Length == 0 ? name : $"{directory}/{name}";
                if (Dataset.IsDirectory(relative))
                {
                    Assert.That(mode, Does.StartWith("d"), $"ls -la {path}: {name} should be a directory");
                }
                else
                {
                    Assert.That(mode, Does.StartWith("-").And.Not.Contain("w"), $"ls -la {path}: {name} should be a read-only file");
                    Assert.That(size, Is.EqualTo(Dataset[relative].Length), $"ls -la {path}: size of {name}");
                }
            }
        }
    }

    [Test]
    public void StatfsAnswers()
    {
        var drive = new DriveInfo(MountedRoot);
        Assert.Multiple(() =>
        {
            Assert.That(drive.IsReady, Is.True, $"statfs {MountedRoot}: not ready");
            Assert.That(drive.TotalSize, Is.GreaterThan(0), $"statfs {MountedRoot}: total size");
            Assert.That(drive.AvailableFreeSpace, Is.GreaterThanOrEqualTo(0), $"statfs {MountedRoot}: available space");
            Assert.That(drive.DriveFormat, Is.Not.Empty, $"statfs {MountedRoot}: filesystem type");
        });
    }

    [TestCase("no-such-file")]
    [TestCase("sizes/no-such-file.bin")]
    [TestCase("no-such-directory/file")]
    [TestCase("deep/level-01/no-such-directory/level-03/file")]
    public void MissingNamesAreEnoent(string relativePath)
    {
        var path = Mounted(relativePath);
        Assert.Multiple(() =>
        {
            Assert.That(PosixCalls.StatErrno(path), Is.EqualTo(PosixCalls.ENOENT), $"statx {path}");
            Assert.That(PosixCalls.OpenErrno(path, PosixCalls.O_RDONLY), Is.EqualTo(PosixCalls.ENOENT), $"open {path}");
            Assert.That(PosixCalls.OpenErrno(path, PosixCalls.O_RDONLY | PosixCalls.O_DIRECTORY), Is.EqualTo(PosixCalls.ENOENT), $"opendir {path}");
            Assert.That(File.Exists(path) || Directory.Exists(path), Is.False, $"{path} should not exist");
            Assert.That(() => File.OpenRead(path), Throws.InstanceOf<IOException>(), $"File.OpenRead {path}");
        });
    }

    [Test]
    public void MissingNameStaysMissingWhenAskedTwice()
    {
        // The second lookup may be answered from the kernel's negative entry cache; it must still be ENOENT.
        var path = Mounted("sizes/not-there-either");
        Assert.That(PosixCalls.StatErrno(path), Is.EqualTo(PosixCalls.ENOENT), $"statx {path}");
        Assert.That(PosixCalls.StatErrno(path), Is.EqualTo(PosixCalls.ENOENT), $"statx {path} again");
    }

    [Test]
    public void ListingAFileAsADirectoryIsEnotdir()
    {
        var path = Mounted(ConformanceDataset.SizePath(4096));
        Assert.Multiple(() =>
        {
            Assert.That(PosixCalls.OpenErrno(path, PosixCalls.O_RDONLY | PosixCalls.O_DIRECTORY), Is.EqualTo(PosixCalls.ENOTDIR), $"opendir {path}");
            Assert.That(PosixCalls.StatErrno(Path.Combine(path, "child")), Is.EqualTo(PosixCalls.ENOTDIR), $"statx {path}/child");
            // .NET reports ENOTDIR from opendir(3) as DirectoryNotFoundException.
            Assert.That(() => Directory.EnumerateFileSystemEntries(path).ToList(), Throws.InstanceOf<DirectoryNotFoundException>(), $"enumerate {path}");
        });
    }

    [Test]
    public void ReadingADirectoryAsAFileIsEisdir()
    {
        var path = Mounted(ConformanceDataset.SizesDirectory);
        Assert.That(PosixCalls.OpenErrno(path, PosixCalls.O_WRONLY), Is.EqualTo(PosixCalls.EISDIR), $"open {path} for writing");

        // open(O_RDONLY) of a directory succeeds on Linux; read(2) is what refuses it.
        var fd = PosixCalls.Open(path, PosixCalls.O_RDONLY | PosixCalls.O_CLOEXEC, 0);
        Assert.That(fd, Is.GreaterThanOrEqualTo(0), $"open {path} read-only");
        try
        {
            var buffer = new byte[16];
            var readErrno = PosixCalls.ErrnoOf(() => PosixCalls.Read(fd, ref buffer[0], (nuint)buffer.Length));
            Assert.That(readErrno, Is.EqualTo(PosixCalls.EISDIR), $"read {path}");
        }
        finally
        {
            _ = PosixCalls.Close(fd);
        }

        Assert.That(() => File.OpenRead(path), Throws.InstanceOf<UnauthorizedAccessException>(), $"File.OpenRead {path}");
    }

    private static readonly Regex LsLine = new(
        @"^(?<mode>[-dlbcps][-rwxsStT]{9})\S*\s+\d+\s+\S+\s+\S+\s+(?<size>\d+)\s+\d+ (?<name>.*)$", RegexOptions.CultureInvariant);

    /// <summary>Runs <c>ls -la</c> and parses name → (mode, size), leaving out "." and "..".</summary>
    private static async Task<Dictionary<string, (string Mode, long Size)>> LsLongAsync(string path)
    {
        var start = new ProcessStartInfo("ls")
        {
            ArgumentList = { "-la", "--time-style=+%s", "--quoting-style=literal", "--show-control-chars", "--", path },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            Environment = { ["LC_ALL"] = "C.UTF-8" },
        };
        using var ls = Process.Start(start) ?? throw new InvalidOperationException("could not start ls");
        var stdout = ls.StandardOutput.ReadToEndAsync();
        var stderr = ls.StandardError.ReadToEndAsync();
        await ls.WaitForExitAsync();
        Assert.That(ls.ExitCode, Is.Zero, $"ls -la {path}: {await stderr}");

        var entries = new Dictionary<string, (string, long)>(StringComparer.Ordinal);
        foreach (var line in (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)) // "total N"
        {
            var match = LsLine.Match(line);
            Assert.That(match.Success, Is.True, $"ls -la {path}: cannot parse line \"{line}\"");
            var name = match.Groups["name"].Value;
            if (name is not "." and not "..")
            {
                entries.Add(name, (match.Groups["mode"].Value, long.Parse(match.Groups["size"].Value)));
            }
        }

        return entries;
    }
}
