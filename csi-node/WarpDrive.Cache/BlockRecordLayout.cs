using System.Buffers.Binary;

namespace WarpDrive.Cache;

/// <summary>
/// The value of a block record in the cache's metadata database (see <see cref="MetadataStore"/>), for the store and for
/// tools that read a stopped agent's cache offline (<c>warpdrive-ctl stats</c>), so both follow one definition.
/// Two formats: the first is checksum(8) + length(4), exactly 12 bytes; the current one is format(1) = 2 + length(4)
/// + one 32-bit sum per 64 KiB sub-block, whose length is never 12.
/// </summary>
public static class BlockRecordLayout
{
    internal const byte SubBlockSumsFormat = 2;
    internal const int LegacyLength = 12;

    /// <summary>The block's length in bytes, from a value of either format; false for a value of any other shape.</summary>
    public static bool TryReadLength(ReadOnlySpan<byte> value, out int length)
    {
        if (value.Length == LegacyLength)
        {
            length = BinaryPrimitives.ReadInt32LittleEndian(value[8..]);
            return length > 0;
        }

        length = 0;
        if (value.Length < 5 || value[0] != SubBlockSumsFormat || (value.Length - 5) % 4 != 0)
        {
            return false;
        }

        length = BinaryPrimitives.ReadInt32LittleEndian(value[1..]);
        return length > 0 && (value.Length - 5) / 4 == SubBlockSums.Count(length);
    }
}
