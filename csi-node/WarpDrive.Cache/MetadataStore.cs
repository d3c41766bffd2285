using System.Buffers.Binary;
using System.Text;
using RocksDbSharp;

namespace WarpDrive.Cache;

/// <summary>What the metadata store remembers about one cached object version.</summary>
internal sealed record ObjectRecord(Guid Id, string Backend, string Path, string ETag, long Size, int BlockSize, long LastAccessUnixMs, bool Pinned);

/// <summary>
/// One present block: its length and sub-block sums (<see cref="SubBlockSums"/>), or, for a record written before
/// those existed, the XxHash3-64 of the whole block (<paramref name="Sums"/> null).
/// </summary>
internal readonly record struct BlockRecord(Guid Id, long Index, int Length, uint[]? Sums, ulong LegacyChecksum);

/// <summary>
/// The durable record of what the cache holds, in RocksDB. Keys:
/// <c>'o' + id(16)</c> → object record; <c>'b' + id(16) + index(8, big-endian)</c> → format(1) = 2 + length(4) +
/// one 32-bit sum per 64 KiB sub-block. Records of the first format (checksum(8) + length(4), exactly 12 bytes, no
/// format byte) still load: their length can never equal 5 + 4n.
/// Big-endian indexes keep an object's blocks adjacent and ordered, so one range delete drops them all.
/// Writes are not synced: they reach the OS before the call returns, which survives a process crash; after a power
/// loss a record may outlive its data, and the per-read checksum turns that into a miss, never into wrong bytes.
/// RocksDB is thread-safe; this class adds no locking.
/// </summary>
internal sealed class MetadataStore : IDisposable
{
    private const byte ObjectTag = (byte)'o';
    private const byte BlockTag = (byte)'b';
    private const byte RecordVersion = 1;
    private const int BlockKeyLength = 1 + 16 + 8;

    private readonly RocksDb _db;

    public MetadataStore(string directory)
    {
        Directory.CreateDirectory(directory);
        var options = new DbOptions().SetCreateIfMissing(true);
        _db = RocksDb.Open(options, directory);
    }

    public void PutObject(ObjectRecord record)
    {
        var backend = Encoding.UTF8.GetBytes(record.Backend);
        var path = Encoding.UTF8.GetBytes(record.Path);
        var etag = Encoding.UTF8.GetBytes(record.ETag);
        var value = new byte[1 + 8 + 4 + 8 + 1 + 12 + backend.Length + path.Length + etag.Length];
        var span = value.AsSpan();
        span[0] = RecordVersion;
        BinaryPrimitives.WriteInt64LittleEndian(span[1..], record.Size);
        BinaryPrimitives.WriteInt32LittleEndian(span[9..], record.BlockSize);
        BinaryPrimitives.WriteInt64LittleEndian(span[13..], record.LastAccessUnixMs);
        span[21] = record.Pinned ? (byte)1 : (byte)0;
        var rest = span[22..];
        foreach (var part in new[] { backend, path, etag })
        {
            BinaryPrimitives.WriteInt32LittleEndian(rest, part.Length);
            part.CopyTo(rest[4..]);
            rest = rest[(4 + part.Length)..];
        }

        _db.Put(ObjectKey(record.Id), value);
    }

    /// <summary>Records a block with its sub-block sums (at most 1,024 of them: 64 MiB blocks).</summary>
    public void PutBlock(Guid id, long index, int length, ReadOnlySpan<uint> sums)
    {
        Span<byte> key = stackalloc byte[BlockKeyLength];
        WriteBlockKey(key, id, index);
        var valueLength = 5 + (4 * sums.Length);
        Span<byte> value = valueLength <= 8192 ? stackalloc byte[valueLength] : new byte[valueLength];
        value[0] = BlockRecordLayout.SubBlockSumsFormat;
        BinaryPrimitives.WriteInt32LittleEndian(value[1..], length);
        for (var i = 0; i < sums.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(value[(5 + (4 * i))..], sums[i]);
        }

        _db.Put(key, value);
    }

    /// <summary>Writes a record in the first format (whole-block XxHash3-64, no sub-block sums): for upgrade tests.</summary>
    internal void PutLegacyBlock(Guid id, long index, ulong checksum, int length)
    {
        Span<byte> key = stackalloc byte[BlockKeyLength];
        WriteBlockKey(key, id, index);
        Span<byte> value = stackalloc byte[BlockRecordLayout.LegacyLength];
        BinaryPrimitives.WriteUInt64LittleEndian(value, checksum);
        BinaryPrimitives.WriteInt32LittleEndian(value[8..], length);
        _db.Put(key, value);
    }

    public void DeleteBlock(Guid id, long index)
    {
        Span<byte> key = stackalloc byte[BlockKeyLength];
        WriteBlockKey(key, id, index);
        _db.Remove(key);
    }

    /// <summary>Removes an object record and all its block records in one atomic batch.</summary>
    public void DeleteObject(Guid id)
    {
        var start = new byte[BlockKeyLength];
        WriteBlockKey(start, id, 0);
        var end = new byte[BlockKeyLength + 1];
        start.AsSpan(0, 17).CopyTo(end);
        end.AsSpan(17).Fill(0xFF);
        using var batch = new WriteBatch();
        batch.Delete(ObjectKey(id));
        batch.DeleteRange(start, (ulong)start.Length, end, (ulong)end.Length);
        _db.Write(batch);
    }

    public List<ObjectRecord> ReadObjects()
    {
        var result = new List<ObjectRecord>();
        using var iterator = _db.NewIterator();
        for (iterator.Seek([ObjectTag]); iterator.Valid(); iterator.Next())
        {
            var key = iterator.GetKeySpan();
            if (key.Length == 0 || key[0] != ObjectTag)
            {
                break;
            }

            if (key.Length == 17 && TryParseObject(new Guid(key[1..]), iterator.GetValueSpan(), out var record))
            {
                result.Add(record);
            }
        }

        return result;
    }

    public List<BlockRecord> ReadBlocks()
    {
        var result = new List<BlockRecord>();
        using var iterator = _db.NewIterator();
        for (iterator.Seek([BlockTag]); iterator.Valid(); iterator.Next())
        {
            var key = iterator.GetKeySpan();
            if (key.Length == 0 || key[0] != BlockTag)
            {
                break;
            }

            if (key.Length == BlockKeyLength && TryParseBlock(key, iterator.GetValueSpan(), out var record))
            {
                result.Add(record);
            }
        }

        return result;
    }

    public void Dispose() => _db.Dispose();

    private static byte[] ObjectKey(Guid id)
    {
        var key = new byte[17];
        key[0] = ObjectTag;
        id.TryWriteBytes(key.AsSpan(1));
        return key;
    }

    private static void WriteBlockKey(Span<byte> key, Guid id, long index)
    {
        key[0] = BlockTag;
        id.TryWriteBytes(key[1..]);
        BinaryPrimitives.WriteInt64BigEndian(key[17..], index);
    }

    /// <summary>Either format; a value of any other shape is skipped: the block is then absent, and storing it again overwrites the record.</summary>
    private static bool TryParseBlock(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, out BlockRecord record)
    {
        var id = new Guid(key[1..17]);
        var index = BinaryPrimitives.ReadInt64BigEndian(key[17..]);
        if (!BlockRecordLayout.TryReadLength(value, out var length))
        {
            record = default;
            return false;
        }

        if (value.Length == BlockRecordLayout.LegacyLength)
        {
            record = new BlockRecord(id, index, length, null, BinaryPrimitives.ReadUInt64LittleEndian(value));
            return true;
        }

        var sums = new uint[(value.Length - 5) / 4];
        for (var i = 0; i < sums.Length; i++)
        {
            sums[i] = BinaryPrimitives.ReadUInt32LittleEndian(value[(5 + (4 * i))..]);
        }

        record = new BlockRecord(id, index, length, sums, 0);
        return true;
    }

    private static bool TryParseObject(Guid id, ReadOnlySpan<byte> value, out ObjectRecord record)
    {
        record = null!;
        if (value.Length < 22 + 12 || value[0] != RecordVersion)
        {
            return false;
        }

        var size = BinaryPrimitives.ReadInt64LittleEndian(value[1..]);
        var blockSize = BinaryPrimitives.ReadInt32LittleEndian(value[9..]);
        var lastAccess = BinaryPrimitives.ReadInt64LittleEndian(value[13..]);
        var pinned = value[21] == 1;
        var rest = value[22..];
        var parts = new string[3];
        for (var i = 0; i < parts.Length; i++)
        {
            if (rest.Length < 4)
            {
                return false;
            }

            var length = BinaryPrimitives.ReadInt32LittleEndian(rest);
            if (length < 0 || rest.Length < 4 + length)
            {
                return false;
            }

            parts[i] = Encoding.UTF8.GetString(rest.Slice(4, length));
            rest = rest[(4 + length)..];
        }

        record = new ObjectRecord(id, parts[0], parts[1], parts[2], size, blockSize, lastAccess, pinned);
        return true;
    }
}
