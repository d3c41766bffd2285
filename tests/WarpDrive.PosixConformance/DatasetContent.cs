using System.Text;

namespace WarpDrive.PosixConformance;

/// <summary>
/// The bytes of every dataset file, derived from its relative path and the byte offset alone: any range of
/// any file can be regenerated on demand, so nothing is kept in memory and a mismatch can be located exactly.
/// </summary>
public static class DatasetContent
{
    /// <summary>Fills <paramref name="destination"/> with the bytes of <paramref name="relativePath"/> starting at <paramref name="offset"/>.</summary>
    public static void Fill(string relativePath, long offset, Span<byte> destination)
    {
        var seed = SeedOf(relativePath);
        var position = offset;
        var index = 0;
        while (index < destination.Length)
        {
            // Eight bytes per mixed word; start mid-word when the offset is not a multiple of eight.
            var word = Mix(seed + (ulong)(position >> 3));
            for (var shift = (int)(position & 7); shift < 8 && index < destination.Length; shift++, index++, position++)
            {
                destination[index] = (byte)(word >> (shift * 8));
            }
        }
    }

    public static byte[] Range(string relativePath, long offset, int count)
    {
        var bytes = new byte[count];
        Fill(relativePath, offset, bytes);
        return bytes;
    }

    /// <summary>A read-only seekable stream of the whole file, for backends that upload from a stream.</summary>
    public static Stream OpenRead(string relativePath, long length) => new GeneratedStream(relativePath, length);

    /// <summary>
    /// Compares bytes read from <paramref name="mountedPath"/> at <paramref name="offset"/> with the expected
    /// ones; returns null when equal, else a message naming the path and the first differing offset.
    /// </summary>
    public static string? DescribeMismatch(string relativePath, string mountedPath, long offset, ReadOnlySpan<byte> actual)
    {
        var expected = new byte[actual.Length];
        Fill(relativePath, offset, expected);
        var differsAt = actual.CommonPrefixLength(expected);
        return differsAt == actual.Length
            ? null
            : $"{mountedPath}: byte at offset {offset + differsAt} is 0x{actual[differsAt]:x2}, expected 0x{expected[differsAt]:x2} (read of {actual.Length} bytes at {offset})";
    }

    private static ulong SeedOf(string relativePath)
    {
        // FNV-1a over the UTF-8 path: stable across processes and runtimes (string.GetHashCode is not).
        var hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(relativePath))
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    /// <summary>SplitMix64's finaliser: consecutive inputs give unrelated outputs.</summary>
    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    private sealed class GeneratedStream(string relativePath, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => _position = Math.Clamp(value, 0, length);
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = (int)Math.Min(buffer.Length, length - _position);
            Fill(relativePath, _position, buffer[..count]);
            _position += count;
            return count;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
