using System.IO.Hashing;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>A read-only pass-through stream that hashes (XxHash128) and counts every byte read through it.</summary>
internal sealed class HashingReadStream(Stream inner) : Stream
{
    private readonly XxHash128 _hash = new();

    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    public string HashHex() => Convert.ToHexStringLower(_hash.GetCurrentHash());

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Account(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        Account(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Account(ReadOnlySpan<byte> data)
    {
        _hash.Append(data);
        BytesRead += data.Length;
    }

    /// <summary>Hashes a whole stream (used to read a copy back).</summary>
    public static async Task<(string Hash, long Length)> HashAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        await using var hashing = new HashingReadStream(stream);
        await hashing.CopyToAsync(Null, cancellationToken);
        return (hashing.HashHex(), hashing.BytesRead);
    }
}
