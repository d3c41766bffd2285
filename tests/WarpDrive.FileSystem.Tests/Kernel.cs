using System.Buffers.Binary;
using System.Text;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem.Tests;

/// <summary>One decoded READDIR(PLUS) record; <see cref="NodeId"/> is the entry_out node id in plus mode (0 otherwise).</summary>
internal sealed record ListedName(string Name, ulong Ino, long NextOffset, uint Type, ulong NodeId);

/// <summary>Drives a filesystem the way the kernel would: path walks, paged directory reads, whole-file reads.</summary>
internal static class Kernel
{
    public static readonly FuseRequestContext User = new(1000, 1000, 4242);

    private const int EntryOutSize = 128;
    private const int DirentSize = 24;

    public static async Task<FuseResult<FuseEntry>> WalkAsync(IFuseFileSystem fs, string path)
    {
        FuseResult<FuseEntry> result = default(FuseEntry) with { NodeId = 1 };
        foreach (var name in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            result = await fs.LookupAsync(result.Value.NodeId, name, User, CancellationToken.None);
            if (!result.IsOk || result.Value.NodeId == 0)
            {
                return result;
            }
        }

        return result;
    }

    /// <summary>Walks to <paramref name="path"/> and fails the test unless it exists.</summary>
    public static async Task<FuseEntry> LookupAsync(IFuseFileSystem fs, string path)
    {
        var result = await WalkAsync(fs, path);
        Assert.That(result.IsOk, Is.True, $"lookup {path}: {result}");
        Assert.That(result.Value.NodeId, Is.Not.Zero, $"lookup {path} gave a negative entry");
        return result.Value;
    }

    /// <summary>OPENDIR, READDIR(PLUS) pages of <paramref name="bufferSize"/> bytes from <paramref name="offset"/> until an empty page, RELEASEDIR.</summary>
    public static async Task<List<ListedName>> ListAsync(IFuseFileSystem fs, ulong nodeId, bool plus = false, int bufferSize = 4096, long offset = 0)
    {
        var open = await fs.OpenDirectoryAsync(nodeId, User, CancellationToken.None);
        Assert.That(open.IsOk, Is.True, $"opendir {nodeId}: {open}");
        try
        {
            return await ReadPagesAsync(fs, nodeId, open.Value.Handle, plus, bufferSize, offset);
        }
        finally
        {
            fs.ReleaseDirectory(nodeId, open.Value.Handle);
        }
    }

    public static async Task<List<ListedName>> ReadPagesAsync(IFuseFileSystem fs, ulong nodeId, ulong handle, bool plus, int bufferSize, long offset)
    {
        var names = new List<ListedName>();
        var buffer = new byte[bufferSize];
        var writer = new DirectoryEntryWriter();
        while (true)
        {
            writer.Reset(buffer, plus);
            var error = await fs.ReadDirectoryAsync(nodeId, handle, offset, writer, CancellationToken.None);
            Assert.That(error, Is.EqualTo(Errno.Ok));
            if (writer.BytesWritten == 0)
            {
                return names;
            }

            var page = Decode(buffer.AsSpan(0, writer.BytesWritten), plus);
            names.AddRange(page);
            offset = page[^1].NextOffset;
        }
    }

    public static async Task<byte[]> ReadAllAsync(IFuseFileSystem fs, ulong nodeId, ulong handle, int chunk = 4096)
    {
        var content = new MemoryStream();
        var buffer = new byte[chunk];
        while (true)
        {
            var read = await fs.ReadAsync(nodeId, handle, content.Length, buffer, CancellationToken.None);
            Assert.That(read.IsOk, Is.True, $"read: {read}");
            if (read.Value == 0)
            {
                return content.ToArray();
            }

            content.Write(buffer, 0, read.Value);
        }
    }

    private static List<ListedName> Decode(ReadOnlySpan<byte> page, bool plus)
    {
        var names = new List<ListedName>();
        while (!page.IsEmpty)
        {
            ulong nodeId = 0;
            var dirent = page;
            if (plus)
            {
                nodeId = BinaryPrimitives.ReadUInt64LittleEndian(page);
                dirent = page[EntryOutSize..];
            }

            var ino = BinaryPrimitives.ReadUInt64LittleEndian(dirent);
            var next = BinaryPrimitives.ReadInt64LittleEndian(dirent[8..]);
            var nameLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(dirent[16..]);
            var type = BinaryPrimitives.ReadUInt32LittleEndian(dirent[20..]);
            names.Add(new ListedName(Encoding.UTF8.GetString(dirent.Slice(DirentSize, nameLength)), ino, next, type, nodeId));
            var recordSize = ((plus ? EntryOutSize : 0) + DirentSize + nameLength + 7) & ~7;
            page = page[recordSize..];
        }

        return names;
    }
}
