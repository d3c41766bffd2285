using System.Collections.Concurrent;
using System.Text;

namespace WarpDrive.Fuse.Tests;

/// <summary>
/// A tiny in-memory filesystem that exercises the protocol layer against the real kernel without any
/// backend: a root directory with a few files whose content is generated from their names.
/// </summary>
internal sealed class StaticTreeFileSystem : IFuseFileSystem
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
    private readonly Dictionary<string, (ulong Ino, byte[] Content)> _files = [];
    private readonly ConcurrentDictionary<ulong, long> _lookups = new();
    private int _destroyed;

    public StaticTreeFileSystem(IReadOnlyDictionary<string, byte[]> files)
    {
        ulong ino = 2;
        foreach (var (name, content) in files)
        {
            _files[name] = (ino++, content);
        }
    }

    /// <summary>How many kernel references each node holds (lookups minus forgets).</summary>
    public IReadOnlyDictionary<ulong, long> Lookups => _lookups;

    public bool Destroyed => Volatile.Read(ref _destroyed) == 1;

    public int ReadCalls;

    public TaskCompletionSource? ReadGate { get; set; }

    public void Initialize(IFuseConnection connection)
    {
    }

    public ValueTask<FuseResult<FuseEntry>> LookupAsync(ulong parent, string name, FuseRequestContext context, CancellationToken cancellationToken)
    {
        if (parent != 1 || !_files.TryGetValue(name, out var file))
        {
            return ValueTask.FromResult<FuseResult<FuseEntry>>(Errno.ENOENT);
        }

        _lookups.AddOrUpdate(file.Ino, 1, (_, n) => n + 1);
        return ValueTask.FromResult<FuseResult<FuseEntry>>(Entry(file.Ino, file.Content));
    }

    public void Forget(ulong nodeId, ulong lookups) => _lookups.AddOrUpdate(nodeId, -(long)lookups, (_, n) => n - (long)lookups);

    public ValueTask<FuseResult<FuseAttributesReply>> GetAttributesAsync(ulong nodeId, ulong? handle, CancellationToken cancellationToken)
    {
        if (nodeId == 1)
        {
            return ValueTask.FromResult<FuseResult<FuseAttributesReply>>(new FuseAttributesReply(FileAttributes.Directory(1, Epoch), TimeSpan.FromSeconds(1)));
        }

        foreach (var file in _files.Values)
        {
            if (file.Ino == nodeId)
            {
                return ValueTask.FromResult<FuseResult<FuseAttributesReply>>(new FuseAttributesReply(Entry(file.Ino, file.Content).Attributes, TimeSpan.FromSeconds(1)));
            }
        }

        return ValueTask.FromResult<FuseResult<FuseAttributesReply>>(Errno.ENOENT);
    }

    public ValueTask<FuseResult<FuseOpenReply>> OpenAsync(ulong nodeId, int flags, FuseRequestContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult<FuseResult<FuseOpenReply>>(new FuseOpenReply(nodeId, FuseOpenFlags.None));

    public async ValueTask<FuseResult<int>> ReadAsync(ulong nodeId, ulong handle, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ReadCalls);
        if (ReadGate is { } gate)
        {
            // Goes pending until released or interrupted: exercises the asynchronous reply path and INTERRUPT.
            await gate.Task.WaitAsync(cancellationToken);
        }

        var content = _files.Values.First(f => f.Ino == handle).Content;
        if (offset >= content.Length)
        {
            return 0;
        }

        var count = (int)Math.Min(destination.Length, content.Length - offset);
        content.AsSpan((int)offset, count).CopyTo(destination.Span);
        return count;
    }

    public void Release(ulong nodeId, ulong handle)
    {
    }

    public ValueTask<FuseResult<FuseOpenReply>> OpenDirectoryAsync(ulong nodeId, FuseRequestContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult<FuseResult<FuseOpenReply>>(nodeId == 1 ? new FuseOpenReply(1, FuseOpenFlags.None) : Errno.ENOTDIR);

    public ValueTask<Errno> ReadDirectoryAsync(ulong nodeId, ulong handle, long offset, DirectoryEntryWriter writer, CancellationToken cancellationToken)
    {
        var entries = new List<(string Name, ulong Ino, uint Mode, byte[]? Content)> { (".", 1, FileAttributes.S_IFDIR, null), ("..", 1, FileAttributes.S_IFDIR, null) };
        entries.AddRange(_files.Select(f => (f.Key, f.Value.Ino, FileAttributes.S_IFREG, (byte[]?)f.Value.Content)));
        for (var i = (int)offset; i < entries.Count; i++)
        {
            var (name, ino, mode, content) = entries[i];
            var entry = writer.IsPlus && content is not null ? Entry(ino, content) : default;
            if (!writer.TryAdd(name, ino, mode, i + 1, entry))
            {
                break;
            }

            if (entry.NodeId != 0)
            {
                _lookups.AddOrUpdate(ino, 1, (_, n) => n + 1);
            }
        }

        return ValueTask.FromResult(Errno.Ok);
    }

    public void ReleaseDirectory(ulong nodeId, ulong handle)
    {
    }

    public FuseResult<FuseStatFs> StatFs(ulong nodeId) => new FuseStatFs(1000, 10, 10, 100, 50, 4096, 255);

    public Errno Access(ulong nodeId, int mask, FuseRequestContext context) => Errno.Ok;

    public FuseResult<int> GetExtendedAttribute(ulong nodeId, string name, Span<byte> destination)
    {
        if (name != "user.test")
        {
            return Errno.ENODATA;
        }

        var value = Encoding.UTF8.GetBytes("hello-xattr");
        if (destination.IsEmpty)
        {
            return value.Length;
        }

        if (destination.Length < value.Length)
        {
            return Errno.ERANGE;
        }

        value.CopyTo(destination);
        return value.Length;
    }

    public FuseResult<int> ListExtendedAttributes(ulong nodeId, Span<byte> destination)
    {
        var names = Encoding.UTF8.GetBytes("user.test\0");
        if (destination.IsEmpty)
        {
            return names.Length;
        }

        if (destination.Length < names.Length)
        {
            return Errno.ERANGE;
        }

        names.CopyTo(destination);
        return names.Length;
    }

    public ValueTask<FuseResult<long>> SeekAsync(ulong nodeId, ulong handle, long offset, int whence, CancellationToken cancellationToken) =>
        ValueTask.FromResult<FuseResult<long>>(Errno.ENXIO);

    public void Destroy() => Interlocked.Exchange(ref _destroyed, 1);

    private static FuseEntry Entry(ulong ino, byte[] content) =>
        new(ino, 0, FileAttributes.File(ino, (ulong)content.Length, Epoch), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
}
