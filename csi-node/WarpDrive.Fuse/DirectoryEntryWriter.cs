using System.Buffers.Binary;
using System.Text;
using WarpDrive.Fuse.Protocol;

namespace WarpDrive.Fuse;

/// <summary>
/// Packs directory entries into a READDIR or READDIRPLUS reply buffer (struct fuse_dirent /
/// fuse_direntplus, each padded to 8 bytes). One instance serves one request.
/// </summary>
public sealed class DirectoryEntryWriter
{
    private Memory<byte> _buffer;
    private int _written;

    internal DirectoryEntryWriter()
    {
    }

    /// <summary>True for READDIRPLUS: each entry carries a full <see cref="FuseEntry"/>, and the kernel takes a lookup reference for it.</summary>
    public bool IsPlus { get; private set; }

    public int BytesWritten => _written;

    internal void Reset(Memory<byte> buffer, bool plus)
    {
        _buffer = buffer;
        _written = 0;
        IsPlus = plus;
    }

    /// <summary>
    /// Appends one entry. Returns false, writing nothing, when it does not fit; the caller stops there and
    /// the kernel asks again from <paramref name="nextOffset"/> of the last entry that fit.
    /// In plus mode, a non-zero <c>entry.NodeId</c> means the kernel now holds one more reference to it:
    /// count it only when this returns true. Pass <c>default</c> for "." and "..".
    /// </summary>
    public bool TryAdd(string name, ulong ino, uint mode, long nextOffset, in FuseEntry entry)
    {
        var nameLength = Encoding.UTF8.GetByteCount(name);
        var headerSize = IsPlus ? Wire.EntryOutSize + Wire.DirentSize : Wire.DirentSize;
        var recordSize = Wire.Align8(headerSize + nameLength);
        if (_written + recordSize > _buffer.Length)
        {
            return false;
        }

        var record = _buffer.Span.Slice(_written, recordSize);
        record.Clear();
        var dirent = record;
        if (IsPlus)
        {
            if (entry.NodeId != 0)
            {
                Wire.WriteEntryOut(record, entry);
            }

            dirent = record[Wire.EntryOutSize..];
        }

        BinaryPrimitives.WriteUInt64LittleEndian(dirent, ino);
        BinaryPrimitives.WriteInt64LittleEndian(dirent[8..], nextOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(dirent[16..], (uint)nameLength);
        BinaryPrimitives.WriteUInt32LittleEndian(dirent[20..], (mode & 0xF000) >> 12);
        Encoding.UTF8.GetBytes(name, dirent[Wire.DirentSize..]);
        _written += recordSize;
        return true;
    }
}
