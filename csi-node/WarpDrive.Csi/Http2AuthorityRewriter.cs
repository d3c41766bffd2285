using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;

namespace WarpDrive.Csi;

/// <summary>
/// Kestrel connection middleware for the kubelet's plugin-registration socket. The kubelet's plugin watcher dials that
/// socket with grpc-go, which sends the socket's path as the HTTP/2 <c>:authority</c>; Kestrel refuses any authority
/// that is not <c>host[:port]</c> and resets the stream with PROTOCOL_ERROR (dotnet/aspnetcore#47043), and no Kestrel
/// setting turns that check off. So, before Kestrel parses a request, this rewrites the <c>:authority</c> field of each
/// HEADERS frame to <c>localhost</c>, which is what grpc-go itself sends for <c>unix://</c> targets.
/// It walks HTTP/2 frames and HPACK field representations (RFC 7541 §6) only far enough to find that one field; it
/// never decodes a string, and every other byte passes through unchanged. A header block split over CONTINUATION
/// frames is passed through as it is (the kubelet's two small calls never need one).
/// </summary>
public static class Http2AuthorityRewriter
{
    private const int FrameHeaderLength = 9;
    private const byte HeadersFrame = 0x1;
    private const byte EndHeaders = 0x4;
    private const byte Padded = 0x8;
    private const byte Priority = 0x20;
    private const int AuthorityStaticIndex = 1; // HPACK static table entry 1 is ":authority"
    private static readonly byte[] Localhost = "localhost"u8.ToArray();

    /// <summary>The client connection preface, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", comes before the first frame.</summary>
    private const int PrefaceLength = 24;

    public static ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        var transport = connection.Transport;
        var rewritten = new Pipe();
        connection.Transport = new DuplexPipe(rewritten.Reader, transport.Output);
        var pump = PumpAsync(transport.Input, rewritten.Writer);
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            transport.Input.CancelPendingRead();
            await pump.ConfigureAwait(false);
            await rewritten.Reader.CompleteAsync().ConfigureAwait(false);
        }
    };

    private static async Task PumpAsync(PipeReader input, PipeWriter output)
    {
        var prefaceLeft = PrefaceLength;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (prefaceLeft > 0)
                {
                    var preface = buffer.Slice(0, Math.Min(prefaceLeft, buffer.Length));
                    Write(output, preface);
                    prefaceLeft -= (int)preface.Length;
                    buffer = buffer.Slice(preface.End);
                }

                while (prefaceLeft == 0 && TryTakeFrame(ref buffer, out var frame))
                {
                    WriteFrame(output, frame);
                }

                input.AdvanceTo(buffer.Start, buffer.End);
                var flushed = await output.FlushAsync().ConfigureAwait(false);
                if (result.IsCompleted || result.IsCanceled || flushed.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception error) when (error is IOException or ConnectionResetException or InvalidOperationException)
        {
            // The connection went away; Kestrel sees the end of the rewritten stream and closes it.
        }
        finally
        {
            await output.CompleteAsync().ConfigureAwait(false);
            await input.CompleteAsync().ConfigureAwait(false);
        }
    }

    private static bool TryTakeFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> frame)
    {
        frame = default;
        if (buffer.Length < FrameHeaderLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[FrameHeaderLength];
        buffer.Slice(0, FrameHeaderLength).CopyTo(header);
        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        if (buffer.Length < FrameHeaderLength + length)
        {
            return false;
        }

        frame = buffer.Slice(0, FrameHeaderLength + length);
        buffer = buffer.Slice(frame.End);
        return true;
    }

    private static void WriteFrame(PipeWriter output, ReadOnlySequence<byte> frame)
    {
        var bytes = frame.ToArray(); // a few hundred bytes, twice per registration: not a hot path
        var type = bytes[3];
        var flags = bytes[4];
        if (type != HeadersFrame || (flags & EndHeaders) == 0)
        {
            output.Write(bytes);
            return;
        }

        var payload = bytes.AsSpan(FrameHeaderLength);
        var blockStart = 0;
        var padding = 0;
        if ((flags & Padded) != 0)
        {
            padding = payload[0];
            blockStart = 1;
        }

        if ((flags & Priority) != 0)
        {
            blockStart += 5;
        }

        var blockEnd = payload.Length - padding;
        if (blockStart > blockEnd || RewriteAuthority(payload[blockStart..blockEnd]) is not { } block)
        {
            output.Write(bytes);
            return;
        }

        var newLength = blockStart + block.Length + padding;
        Span<byte> header = stackalloc byte[FrameHeaderLength];
        bytes.AsSpan(0, FrameHeaderLength).CopyTo(header);
        header[0] = (byte)(newLength >> 16);
        header[1] = (byte)(newLength >> 8);
        header[2] = (byte)newLength;
        output.Write(header);
        output.Write(payload[..blockStart]);
        output.Write(block);
        output.Write(payload[blockEnd..]);
    }

    /// <summary>The header block with every <c>:authority</c> value replaced by <c>localhost</c>; null when there is none or the block is malformed.</summary>
    internal static byte[]? RewriteAuthority(ReadOnlySpan<byte> block)
    {
        var output = new ArrayBufferWriter<byte>(block.Length + 16);
        var copiedUpTo = 0;
        var changed = false;
        var position = 0;
        while (position < block.Length)
        {
            var first = block[position];
            if ((first & 0x80) != 0)
            {
                // Indexed field (1xxxxxxx): its value is already in a table.
                if (!TrySkipInteger(block, ref position, 7))
                {
                    return null;
                }

                continue;
            }

            if ((first & 0xE0) == 0x20)
            {
                // Dynamic table size update (001xxxxx).
                if (!TrySkipInteger(block, ref position, 5))
                {
                    return null;
                }

                continue;
            }

            // Literal field: with incremental indexing (01xxxxxx, 6-bit index) or without / never indexed (000xxxxx, 4-bit).
            var fieldStart = position;
            var prefixBits = (first & 0xC0) == 0x40 ? 6 : 4;
            if (!TryReadInteger(block, ref position, prefixBits, out var nameIndex)
                || (nameIndex == 0 && !TrySkipString(block, ref position))
                || !TrySkipString(block, ref position))
            {
                return null;
            }

            if (nameIndex == AuthorityStaticIndex)
            {
                // Same representation (so both dynamic tables keep the same entries in the same order), new value.
                output.Write(block[copiedUpTo..fieldStart]);
                output.Write([(byte)((first & (0xFF << prefixBits)) | AuthorityStaticIndex), (byte)Localhost.Length]);
                output.Write(Localhost);
                copiedUpTo = position;
                changed = true;
            }
        }

        if (!changed)
        {
            return null;
        }

        output.Write(block[copiedUpTo..]);
        return output.WrittenSpan.ToArray();
    }

    private static bool TrySkipInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits) =>
        TryReadInteger(block, ref position, prefixBits, out _);

    /// <summary>An HPACK integer (RFC 7541 §5.1).</summary>
    private static bool TryReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits, out int value)
    {
        var mask = (1 << prefixBits) - 1;
        value = block[position++] & mask;
        if (value < mask)
        {
            return true;
        }

        for (var shift = 0; position < block.Length && shift <= 21; shift += 7)
        {
            var next = block[position++];
            value += (next & 0x7F) << shift;
            if ((next & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>An HPACK string literal (RFC 7541 §5.2): Huffman flag and length, then that many bytes.</summary>
    private static bool TrySkipString(ReadOnlySpan<byte> block, ref int position)
    {
        if (position >= block.Length || !TryReadInteger(block, ref position, 7, out var length) || length > block.Length - position)
        {
            return false;
        }

        position += length;
        return true;
    }

    private static void Write(PipeWriter output, ReadOnlySequence<byte> bytes)
    {
        foreach (var segment in bytes)
        {
            output.Write(segment.Span);
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
