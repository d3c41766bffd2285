using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Win32.SafeHandles;
using WarpDrive.Backends.Local;
using WarpDrive.Cache;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem.Tests;

/// <summary>
/// The session journal: a second process (here a second <see cref="WarpFileSystem"/>) that takes the connection over
/// knows every node id, reference count and open handle the kernel got from the first, and nothing it took back.
/// The journals are real files; the kernel's side is played by <see cref="Kernel"/>.
/// </summary>
[TestFixture]
public sealed class TakeOverTests
{
    private TempTree _tree = null!;

    [SetUp]
    public void SetUp() => _tree = new TempTree("takeover");

    [TearDown]
    public void TearDown() => _tree.Dispose();

    [Test]
    public async Task A_successor_serves_the_node_ids_counts_and_open_handles_the_kernel_got_from_its_predecessor()
    {
        var content = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 13)).ToArray();
        _tree.WriteFile("a/b/data.bin", content);
        _tree.WriteFile("a/other.txt", "released before the take-over");
        var backend = new LocalBackend("takeover", _tree.Root);
        var firstJournal = Journal("first");
        var first = Create(backend, firstJournal, previous: null);

        var file = await Kernel.LookupAsync(first, "/m/a/b/data.bin");
        await Kernel.LookupAsync(first, "/m/a/b/data.bin"); // a second kernel reference
        first.Forget(file.NodeId, 1);
        var open = (await first.OpenAsync(file.NodeId, 0, Kernel.User, CancellationToken.None)).Value.Handle;
        var other = await Kernel.LookupAsync(first, "/m/a/other.txt");
        var released = (await first.OpenAsync(other.NodeId, 0, Kernel.User, CancellationToken.None)).Value.Handle;
        first.Release(other.NodeId, released);
        var directory = await Kernel.LookupAsync(first, "/m/a");
        var openDirectory = (await first.OpenDirectoryAsync(directory.NodeId, Kernel.User, CancellationToken.None)).Value.Handle;
        var countBefore = first.LookupCountOf(file.NodeId);
        var firstHalf = await ReadAsync(first, file.NodeId, open, 0, 100_000);

        // The first process dies here; the successor gets its journal (a duplicate descriptor, as from the fd holder).
        var second = Create(backend, Journal("second"), previous: File.OpenHandle(firstJournal.path, FileMode.Open, FileAccess.Read));

        Assert.Multiple(() =>
        {
            Assert.That(second.Restored, Is.EqualTo((Nodes: first.LiveNodeCount - 1, OpenFiles: 1)), "every node but the root, one open file");
            Assert.That(second.LookupCountOf(file.NodeId), Is.EqualTo(countBefore), "the kernel's reference count");
            Assert.That(second.OpenFileCount, Is.EqualTo(1));
        });
        var attributes = await second.GetAttributesAsync(file.NodeId, null, CancellationToken.None);
        Assert.That(attributes.IsOk, Is.True, $"getattr of a node id from the predecessor: {attributes}");
        Assert.That(attributes.Value.Attributes.Size, Is.EqualTo((ulong)content.Length));
        var rest = await ReadAsync(second, file.NodeId, open, 100_000, content.Length - 100_000);
        Assert.That(firstHalf.Concat(rest).ToArray(), Is.EqualTo(content), "the open handle reads on, same bytes");
        var listing = await Kernel.ReadPagesAsync(second, directory.NodeId, openDirectory, plus: false, bufferSize: 4096, offset: 0);
        Assert.That(listing.Select(l => l.Name), Is.SupersetOf(new[] { "b", "other.txt" }), "a directory handle of the predecessor lists");
        var stale = await second.ReadAsync(other.NodeId, released, 0, new byte[16], CancellationToken.None);
        Assert.That(stale.Error, Is.EqualTo(Errno.EBADF), "a handle released before the take-over stays released");

        var reopened = (await second.OpenAsync(file.NodeId, 0, Kernel.User, CancellationToken.None)).Value.Handle;
        Assert.That(reopened, Is.Not.EqualTo(open).And.Not.EqualTo(released), "handle ids are never reused across processes");
        second.Forget(file.NodeId, (ulong)countBefore);
        Assert.That(second.LookupCountOf(file.NodeId), Is.Zero, "FORGET of the predecessor's references drops the node");
    }

    private static WarpFileSystem Create(LocalBackend backend, (SafeFileHandle handle, string path) journal, SafeFileHandle? previous)
    {
        var fs = new WarpFileSystem(new FileSystemOptions(), [new BackendMount("/m", backend)], new DirectContentSource(), NullLogger.Instance);
        fs.KeepJournal(journal.handle, previous);
        fs.Initialize(new RecordingConnectionTestDouble());
        return fs;
    }

    private (SafeFileHandle handle, string path) Journal(string name)
    {
        var path = _tree.PathOf("journal-" + name);
        return (File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite), path);
    }

    private static async Task<byte[]> ReadAsync(WarpFileSystem fs, ulong nodeId, ulong handle, long offset, int length)
    {
        var buffer = new byte[length];
        var done = 0;
        while (done < length)
        {
            var read = await fs.ReadAsync(nodeId, handle, offset + done, buffer.AsMemory(done), CancellationToken.None);
            Assert.That(read.IsOk, Is.True, $"read at {offset + done}: {read}");
            if (read.Value == 0)
            {
                break;
            }

            done += read.Value;
        }

        return buffer[..done];
    }
}
