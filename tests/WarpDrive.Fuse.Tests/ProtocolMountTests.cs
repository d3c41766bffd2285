using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;

namespace WarpDrive.Fuse.Tests;

/// <summary>The protocol layer against the real kernel: a static in-memory tree mounted through /dev/fuse.</summary>
[TestFixture(MountMethod.Syscall)]
[TestFixture(MountMethod.Fusermount)]
[NonParallelizable]
public sealed class ProtocolMountTests(MountMethod method)
{
    private static readonly byte[] Big = Enumerable.Range(0, 3 * 1024 * 1024 + 123).Select(i => (byte)(i * 31 + (i >> 11))).ToArray();
    private string _mountPoint = null!;
    private StaticTreeFileSystem _fileSystem = null!;
    private FuseServer _server = null!;

    [SetUp]
    public void SetUp()
    {
        _mountPoint = Directory.CreateTempSubdirectory("wd-fuse-").FullName;
        _fileSystem = new StaticTreeFileSystem(new Dictionary<string, byte[]>
        {
            ["hello.txt"] = Encoding.UTF8.GetBytes("hello, warpdrive\n"),
            ["big.bin"] = Big,
            ["ünïcødé ✓.txt"] = Encoding.UTF8.GetBytes("odd name"),
        });
        _server = FuseServer.Mount(_fileSystem, new FuseMountOptions { MountPoint = _mountPoint, Method = method, Workers = 3 }, NullLogger.Instance);
    }

    [TearDown]
    public async Task TearDown()
    {
        _fileSystem.ReadGate?.TrySetResult();
        await _server.DisposeAsync();
        Directory.Delete(_mountPoint);
    }

    [Test]
    public void MountIsListedAsReadOnlyFuse()
    {
        var line = File.ReadLines("/proc/self/mounts").Single(l => l.Split(' ')[1] == _mountPoint);
        Assert.Multiple(() =>
        {
            Assert.That(line.Split(' ')[2], Is.EqualTo("fuse.warpdrive"));
            Assert.That(line.Split(' ')[3].Split(','), Does.Contain("ro"));
            Assert.That(FuseMounter.IsMounted(_mountPoint), Is.True);
        });
    }

    [Test]
    public void ListsStatsAndReads()
    {
        var names = Directory.EnumerateFileSystemEntries(_mountPoint).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.That(names, Is.EqualTo(new[] { "big.bin", "hello.txt", "ünïcødé ✓.txt" }));
        var info = new FileInfo(Path.Combine(_mountPoint, "big.bin"));
        Assert.Multiple(() =>
        {
            Assert.That(info.Length, Is.EqualTo(Big.Length));
            Assert.That(info.LastWriteTimeUtc, Is.EqualTo(new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc)));
            Assert.That(File.ReadAllText(Path.Combine(_mountPoint, "hello.txt")), Is.EqualTo("hello, warpdrive\n"));
            Assert.That(File.ReadAllBytes(Path.Combine(_mountPoint, "big.bin")), Is.EqualTo(Big));
            Assert.That(File.ReadAllText(Path.Combine(_mountPoint, "ünïcødé ✓.txt")), Is.EqualTo("odd name"));
        });
    }

    [Test]
    public void ReadsAtRandomOffsetsMatch()
    {
        using var stream = new FileStream(Path.Combine(_mountPoint, "big.bin"), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        var random = new Random(7);
        var buffer = new byte[300_000];
        for (var i = 0; i < 50; i++)
        {
            var offset = random.NextInt64(0, Big.Length);
            var count = random.Next(1, buffer.Length);
            var read = RandomAccess.Read(stream.SafeFileHandle, buffer.AsSpan(0, count), offset);
            var expected = (int)Math.Min(count, Big.Length - offset);
            Assert.That(read, Is.EqualTo(expected));
            Assert.That(buffer.AsSpan(0, read).SequenceEqual(Big.AsSpan((int)offset, read)), Is.True, $"bytes differ at {offset}+{count}");
        }
    }

    [Test]
    public void MissingPathIsENOENT()
    {
        Assert.Multiple(() =>
        {
            Assert.That(File.Exists(Path.Combine(_mountPoint, "nope")), Is.False);
            Assert.Throws<FileNotFoundException>(() => File.ReadAllBytes(Path.Combine(_mountPoint, "nope")));
        });
    }

    [Test]
    public void EveryWritePathIsReadOnly()
    {
        var file = Path.Combine(_mountPoint, "hello.txt");
        Assert.Multiple(() =>
        {
            Assert.That(PosixErrno(() => File.WriteAllText(Path.Combine(_mountPoint, "new.txt"), "x")), Is.EqualTo(30), "create");
            Assert.That(PosixErrno(() => File.AppendAllText(file, "x")), Is.EqualTo(30), "write");
            Assert.That(PosixErrno(() => File.Delete(file)), Is.EqualTo(30), "unlink");
            Assert.That(PosixErrno(() => Directory.CreateDirectory(Path.Combine(_mountPoint, "d"))), Is.EqualTo(30), "mkdir");
            Assert.That(PosixErrno(() => File.Move(file, Path.Combine(_mountPoint, "moved.txt"))), Is.EqualTo(30), "rename");
            Assert.That(PosixErrno(() => File.SetLastWriteTimeUtc(file, DateTime.UtcNow)), Is.EqualTo(30), "setattr");
        });
    }

    [Test]
    public void ExtendedAttributesAndStatFs()
    {
        var buffer = new byte[64];
        var length = GetXattr(Path.Combine(_mountPoint, "hello.txt"), "user.test", buffer, (nuint)buffer.Length);
        Assert.That(Encoding.UTF8.GetString(buffer, 0, (int)length), Is.EqualTo("hello-xattr"));
        Assert.That((int)GetXattr(Path.Combine(_mountPoint, "hello.txt"), "user.test", null, 0), Is.EqualTo(11), "size probe");
        Assert.That((int)GetXattr(Path.Combine(_mountPoint, "hello.txt"), "user.other", buffer, (nuint)buffer.Length), Is.EqualTo(-1));
        Assert.That(Marshal.GetLastPInvokeError(), Is.EqualTo(61), "ENODATA");
        var drive = new DriveInfo(_mountPoint);
        Assert.That(drive.TotalSize, Is.EqualTo(1000L * 4096));
    }

    [Test]
    public async Task PendingReadIsAnsweredAsynchronouslyAndOtherRequestsProceed()
    {
        _fileSystem.ReadGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var path = Path.Combine(_mountPoint, "hello.txt");
        var reading = Task.Run(() => File.ReadAllText(path));
        while (Volatile.Read(ref _fileSystem.ReadCalls) == 0)
        {
            await Task.Delay(10);
        }

        // While the read is pending, metadata requests are still served.
        Assert.That(Directory.GetFiles(_mountPoint), Has.Length.EqualTo(3));
        Assert.That(reading.IsCompleted, Is.False);
        _fileSystem.ReadGate.SetResult();
        Assert.That(await reading.WaitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo("hello, warpdrive\n"));
    }

    [Test]
    public void OperationsAreCountedPerOpcode()
    {
        var counted = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == FuseMetrics.MeterName && instrument.Name == "warpdrive_fuse_operations")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                counted.AddOrUpdate((string)tag.Value!, value, (_, n) => n + value);
            }
        });
        listener.Start();

        Assert.That(File.ReadAllText(Path.Combine(_mountPoint, "hello.txt")), Is.EqualTo("hello, warpdrive\n"));
        // A request is counted just after its reply is written, so the reader may get its bytes a moment before.
        Assert.Multiple(() =>
        {
            Assert.That(() => counted.GetValueOrDefault("lookup"), Is.GreaterThan(0).After(5000, 10));
            Assert.That(() => counted.GetValueOrDefault("open"), Is.GreaterThan(0).After(5000, 10));
            Assert.That(() => counted.GetValueOrDefault("read"), Is.GreaterThan(0).After(5000, 10));
        });
    }

    [Test]
    public async Task UnmountEndsTheSession()
    {
        _server.Unmount();
        await _server.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(FuseMounter.IsMounted(_mountPoint), Is.False);
            Assert.That(_fileSystem.Destroyed, Is.True);
        });
    }

    private static int PosixErrno(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (IOException e)
        {
            return e.HResult & 0xFFFF;
        }
        catch (UnauthorizedAccessException e)
        {
            // .NET maps EROFS (and EACCES/EPERM) to UnauthorizedAccessException; its inner IOException has the errno.
            return e.InnerException?.HResult & 0xFFFF ?? -1;
        }
    }

    [DllImport("libc", EntryPoint = "getxattr", SetLastError = true)]
    private static extern nint GetXattr(string path, string name, byte[]? value, nuint size);
}
