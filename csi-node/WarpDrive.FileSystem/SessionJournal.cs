using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Microsoft.Win32.SafeHandles;
using WarpDrive.Backends;

namespace WarpDrive.FileSystem;

/// <summary>
/// What the kernel has been told about node ids and open files, written down BEFORE the reply that tells it, so a
/// process that takes the FUSE connection over (after a hand-over or a kill -9) knows every node id and file handle
/// the kernel may still use. Append-only records in a file the host gives us (a memfd kept by the fd holder).
/// </summary>
/// <remarks>
/// <para>Records: <c>[u32 payload length][u8 type][payload]</c>, little-endian. H = header (generation), N = a node
/// appeared (id, identity, attributes; one kernel reference), L = lookup count delta (id, ±n), O = open file handle
/// (fh, node id, passthrough, backing id), R = handle released. Counts are sums, so records that race between threads
/// may land in either order and the total is still exact. Replay stops at the first incomplete record.</para>
/// <para>Cost: one pwrite of 20–30 bytes per LOOKUP, FORGET, OPEN and RELEASE (a memory copy into the memfd, under
/// its own short lock); READ writes nothing. The file only grows; each take-over starts a new, compacted one.</para>
/// </remarks>
internal sealed class SessionJournal
{
    private const byte Header = (byte)'H';
    private const byte Node = (byte)'N';
    private const byte Lookups = (byte)'L';
    private const byte Open = (byte)'O';
    private const byte Release = (byte)'R';

    private readonly SafeFileHandle _file;
    private readonly Lock _lock = new();
    private long _length;

    private SessionJournal(SafeFileHandle file) => _file = file;

    /// <summary>Starts a journal in the empty file <paramref name="file"/> for session generation <paramref name="generation"/>.</summary>
    public static SessionJournal Start(SafeFileHandle file, ulong generation)
    {
        var journal = new SessionJournal(file);
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, generation);
        journal.Append(Header, payload);
        return journal;
    }

    public void NodeAppeared(Inode inode, long lookups)
    {
        var entry = inode.State.Entry;
        var path = Encoding.UTF8.GetBytes(inode.VirtualPath);
        var backendPath = Encoding.UTF8.GetBytes(entry?.Path ?? "");
        var etag = Encoding.UTF8.GetBytes(entry?.ETag ?? "");
        var length = 8 + 8 + 1 + 8 + 8 + 12 + path.Length + backendPath.Length + etag.Length;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = rented.AsSpan(0, length);
            BinaryPrimitives.WriteUInt64LittleEndian(span, inode.NodeId);
            BinaryPrimitives.WriteInt64LittleEndian(span[8..], lookups);
            span[16] = (byte)((entry is null ? 0 : 1) | (entry is { IsDirectory: true } ? 2 : 0));
            BinaryPrimitives.WriteInt64LittleEndian(span[17..], entry?.Size ?? 0);
            BinaryPrimitives.WriteInt64LittleEndian(span[25..], entry?.LastModified.UtcTicks ?? 0);
            var at = 33;
            foreach (var text in (ReadOnlySpan<byte[]>)[path, backendPath, etag])
            {
                BinaryPrimitives.WriteInt32LittleEndian(span[at..], text.Length);
                text.CopyTo(span[(at + 4)..]);
                at += 4 + text.Length;
            }

            Append(Node, span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public void LookupsChanged(ulong nodeId, long delta)
    {
        Span<byte> payload = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, nodeId);
        BinaryPrimitives.WriteInt64LittleEndian(payload[8..], delta);
        Append(Lookups, payload);
    }

    public void Opened(ulong handle, ulong nodeId, bool passthrough, int backingId)
    {
        Span<byte> payload = stackalloc byte[21];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, handle);
        BinaryPrimitives.WriteUInt64LittleEndian(payload[8..], nodeId);
        payload[16] = passthrough ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32LittleEndian(payload[17..], backingId);
        Append(Open, payload);
    }

    public void Released(ulong handle)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, handle);
        Append(Release, payload);
    }

    private void Append(byte type, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[5];
        BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
        header[4] = type;
        lock (_lock)
        {
            // Two writes under the lock: a record is complete before the next starts, and a kill between them leaves a
            // header without payload, which replay recognises as the end.
            RandomAccess.Write(_file, header, _length);
            RandomAccess.Write(_file, payload, _length + 5);
            _length += 5 + payload.Length;
        }
    }

    /// <summary>Replays a journal: the live nodes with their kernel reference counts, and the open handles.</summary>
    public static JournalState Read(SafeFileHandle file)
    {
        var length = RandomAccess.GetLength(file);
        var bytes = new byte[length];
        var read = 0;
        while (read < length)
        {
            var n = RandomAccess.Read(file, bytes.AsSpan(read), read);
            if (n <= 0)
            {
                break;
            }

            read += n;
        }

        var state = new JournalState();
        var at = 0;
        while (at + 5 <= read)
        {
            var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
            var type = bytes[at + 4];
            if (size < 0 || at + 5 + size > read || type == 0)
            {
                break;
            }

            var payload = bytes.AsSpan(at + 5, size);
            switch (type)
            {
                case Header:
                    state.Generation = BinaryPrimitives.ReadUInt64LittleEndian(payload);
                    break;
                case Node:
                    ReadNode(state, payload);
                    break;
                case Lookups:
                    state.Node(BinaryPrimitives.ReadUInt64LittleEndian(payload)).Lookups += BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
                    break;
                case Open:
                    state.Opens[BinaryPrimitives.ReadUInt64LittleEndian(payload)] = new JournalOpen(
                        BinaryPrimitives.ReadUInt64LittleEndian(payload[8..]), payload[16] != 0, BinaryPrimitives.ReadInt32LittleEndian(payload[17..]));
                    break;
                case Release:
                    state.Opens.Remove(BinaryPrimitives.ReadUInt64LittleEndian(payload));
                    break;
            }

            at += 5 + size;
        }

        return state;
    }

    private static void ReadNode(JournalState state, ReadOnlySpan<byte> payload)
    {
        var node = state.Node(BinaryPrimitives.ReadUInt64LittleEndian(payload));
        node.Lookups += BinaryPrimitives.ReadInt64LittleEndian(payload[8..]);
        var flags = payload[16];
        var size = BinaryPrimitives.ReadInt64LittleEndian(payload[17..]);
        var modified = new DateTimeOffset(BinaryPrimitives.ReadInt64LittleEndian(payload[25..]), TimeSpan.Zero);
        var at = 33;
        var texts = new string[3];
        for (var i = 0; i < 3; i++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(payload[at..]);
            texts[i] = Encoding.UTF8.GetString(payload.Slice(at + 4, length));
            at += 4 + length;
        }

        node.VirtualPath = texts[0];
        node.Entry = (flags & 1) == 0 ? null : new BackendEntry(texts[1], (flags & 2) != 0, size, modified, texts[2]);
    }
}

/// <summary>A replayed journal.</summary>
internal sealed class JournalState
{
    public ulong Generation { get; set; }

    public Dictionary<ulong, JournalNode> Nodes { get; } = [];

    public Dictionary<ulong, JournalOpen> Opens { get; } = [];

    public JournalNode Node(ulong id)
    {
        if (!Nodes.TryGetValue(id, out var node))
        {
            Nodes[id] = node = new JournalNode();
        }

        return node;
    }
}

internal sealed class JournalNode
{
    /// <summary>Null when only count changes were seen (the node's N record was lost): such a node cannot be restored.</summary>
    public string? VirtualPath { get; set; }

    public BackendEntry? Entry { get; set; }

    public long Lookups { get; set; }
}

internal sealed record JournalOpen(ulong NodeId, bool Passthrough, int BackingId);
