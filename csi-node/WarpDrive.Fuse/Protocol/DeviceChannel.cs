using System.Runtime.InteropServices;
using WarpDrive.Fuse.Native;

namespace WarpDrive.Fuse.Protocol;

/// <summary>
/// Writes replies and notifications to a /dev/fuse fd. Every message is one write(2) or writev(2): the
/// kernel takes each as a whole, so several threads may reply on the same fd at once without locking.
/// </summary>
internal static unsafe class DeviceChannel
{
    /// <summary>Largest fixed-size reply payload (fuse_statx_out) plus room.</summary>
    public const int SmallReplyCapacity = 512;

    /// <summary>Replies with an error and no payload.</summary>
    public static void ReplyError(int fd, ulong unique, Errno error)
    {
        Span<byte> header = stackalloc byte[Wire.OutHeaderSize];
        Wire.WriteOutHeader(header, Wire.OutHeaderSize, error, unique);
        Send(fd, header, ReadOnlySpan<byte>.Empty);
    }

    /// <summary>Replies with success and the payload; used for data (READ, READDIR, xattr values).</summary>
    public static void ReplyData(int fd, ulong unique, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[Wire.OutHeaderSize];
        Wire.WriteOutHeader(header, Wire.OutHeaderSize + payload.Length, Errno.Ok, unique);
        Send(fd, header, payload);
    }

    /// <summary>Sends an unsolicited notification (unique 0, error = notify code). Returns the errno of the write.</summary>
    public static Errno Notify(int fd, NotifyCode code, ReadOnlySpan<byte> payload)
    {
        Span<byte> header = stackalloc byte[Wire.OutHeaderSize];
        var length = Wire.OutHeaderSize + payload.Length;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)length);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(header[4..], (int)code);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(header[8..], 0);
        return Send(fd, header, payload);
    }

    private static Errno Send(int fd, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload)
    {
        fixed (byte* h = header)
        fixed (byte* p = payload)
        {
            var iov = stackalloc LibC.IoVec[2];
            iov[0] = new LibC.IoVec { Base = h, Length = (nuint)header.Length };
            iov[1] = new LibC.IoVec { Base = p, Length = (nuint)payload.Length };
            while (true)
            {
                var written = LibC.WriteV(fd, iov, payload.IsEmpty ? 1 : 2);
                if (written >= 0)
                {
                    return Errno.Ok;
                }

                var errno = Marshal.GetLastPInvokeError();
                if (errno != LibC.EINTR)
                {
                    // ENOENT: the request was interrupted and the kernel no longer waits for this reply.
                    // ENODEV: the mount went away. Neither is an error of ours to report.
                    return (Errno)errno;
                }
            }
        }
    }
}
