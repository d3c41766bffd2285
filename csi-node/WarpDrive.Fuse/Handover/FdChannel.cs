using System.Runtime.InteropServices;
using System.Text;
using WarpDrive.Fuse.Native;

namespace WarpDrive.Fuse.Handover;

/// <summary>
/// One connected unix SOCK_SEQPACKET socket carrying short text messages, each optionally with file descriptors
/// attached (SCM_RIGHTS). Seqpacket keeps message boundaries, so a message and its descriptors arrive together or
/// not at all. .NET's Socket cannot attach descriptors, hence the raw calls.
/// </summary>
internal sealed unsafe class FdChannel : IDisposable
{
    /// <summary>More than any message we send: a verb, a mount point and a few numbers.</summary>
    public const int MaxMessage = 8192;

    /// <summary>Descriptors per message: the kernel allows 253; a mount has at most 64 workers plus its state file.</summary>
    public const int MaxFds = 72;

    private int _fd;

    private FdChannel(int fd) => _fd = fd;

    /// <summary>Connects to the holder listening at <paramref name="path"/>. Throws <see cref="IOException"/> naming the path.</summary>
    public static FdChannel Connect(string path)
    {
        var fd = NewSocket();
        var address = Address(path);
        if (LibC.Connect(fd, &address, sizeof(LibC.SockAddrUn)) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            throw new IOException($"connect to {path}: {LibC.Describe(errno)}");
        }

        return new FdChannel(fd);
    }

    /// <summary>A listening socket at <paramref name="path"/> (a stale socket file is replaced), mode 0600 by umask of the caller.</summary>
    public static int Listen(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }

        var fd = NewSocket();
        var address = Address(path);
        if (LibC.Bind(fd, &address, sizeof(LibC.SockAddrUn)) != 0 || LibC.Listen(fd, 16) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            LibC.Close(fd);
            throw new IOException($"listen on {path}: {LibC.Describe(errno)}");
        }

        return fd;
    }

    /// <summary>Waits for the next client; null when the listener was shut down.</summary>
    public static FdChannel? Accept(int listener)
    {
        while (true)
        {
            var fd = LibC.Accept4(listener, null, null, LibC.SOCK_CLOEXEC);
            if (fd >= 0)
            {
                return new FdChannel(fd);
            }

            if (Marshal.GetLastPInvokeError() != LibC.EINTR)
            {
                return null;
            }
        }
    }

    /// <summary>Sends one message; false when the peer is gone.</summary>
    public bool Send(string text, ReadOnlySpan<int> fds = default)
    {
        if (fds.Length > MaxFds)
        {
            throw new ArgumentException($"at most {MaxFds} descriptors per message", nameof(fds));
        }

        var bytes = Encoding.UTF8.GetBytes(text);
        var controlLength = fds.IsEmpty ? 0 : ControlSpace(fds.Length);
        var control = stackalloc byte[Math.Max(controlLength, 1)];
        fixed (byte* data = bytes)
        {
            var iov = new LibC.IoVec { Base = data, Length = (nuint)bytes.Length };
            var message = new LibC.MsgHdr { Iov = &iov, IovLength = 1 };
            if (!fds.IsEmpty)
            {
                new Span<byte>(control, controlLength).Clear();
                var header = (LibC.CMsgHdr*)control;
                header->Length = (nuint)(sizeof(LibC.CMsgHdr) + (fds.Length * sizeof(int)));
                header->Level = LibC.SOL_SOCKET;
                header->Type = LibC.SCM_RIGHTS;
                fds.CopyTo(new Span<int>(control + sizeof(LibC.CMsgHdr), fds.Length));
                message.Control = control;
                message.ControlLength = (nuint)controlLength;
            }

            while (true)
            {
                if (LibC.SendMsg(_fd, &message, LibC.MSG_NOSIGNAL) >= 0)
                {
                    return true;
                }

                if (Marshal.GetLastPInvokeError() != LibC.EINTR)
                {
                    return false;
                }
            }
        }
    }

    /// <summary>
    /// Receives one message; descriptors that came with it are appended to <paramref name="fds"/> (close-on-exec).
    /// Null when the peer closed the connection or the channel was shut down.
    /// </summary>
    public string? Receive(List<int> fds)
    {
        var buffer = stackalloc byte[MaxMessage];
        var controlLength = ControlSpace(MaxFds);
        var control = stackalloc byte[controlLength];
        var iov = new LibC.IoVec { Base = buffer, Length = MaxMessage };
        var message = new LibC.MsgHdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = (nuint)controlLength };
        nint received;
        while (true)
        {
            received = LibC.RecvMsg(_fd, &message, LibC.MSG_CMSG_CLOEXEC);
            if (received >= 0 || Marshal.GetLastPInvokeError() != LibC.EINTR)
            {
                break;
            }
        }

        if (received <= 0)
        {
            return null;
        }

        // One SCM_RIGHTS block at most (we never send more); walk it defensively anyway.
        var offset = 0;
        while (offset + sizeof(LibC.CMsgHdr) <= (int)message.ControlLength)
        {
            var header = (LibC.CMsgHdr*)(control + offset);
            if (header->Length < (nuint)sizeof(LibC.CMsgHdr))
            {
                break;
            }

            if (header->Level == LibC.SOL_SOCKET && header->Type == LibC.SCM_RIGHTS)
            {
                var count = ((int)header->Length - sizeof(LibC.CMsgHdr)) / sizeof(int);
                fds.AddRange(new ReadOnlySpan<int>(control + offset + sizeof(LibC.CMsgHdr), count));
            }

            offset += Align((int)header->Length);
        }

        return Encoding.UTF8.GetString(buffer, (int)received);
    }

    /// <summary>Wakes a thread blocked in <see cref="Receive"/> (it returns null) without closing the descriptor under it.</summary>
    public void Shutdown() => LibC.Shutdown(_fd, 2);

    public void Dispose()
    {
        var fd = Interlocked.Exchange(ref _fd, -1);
        if (fd >= 0)
        {
            LibC.Close(fd);
        }
    }

    private static int NewSocket()
    {
        var fd = LibC.Socket(LibC.AF_UNIX, LibC.SOCK_SEQPACKET | LibC.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new IOException($"socket(AF_UNIX, SOCK_SEQPACKET): {LibC.Describe(Marshal.GetLastPInvokeError())}");
        }

        return fd;
    }

    private static LibC.SockAddrUn Address(string path)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        if (bytes.Length > 107)
        {
            throw new IOException($"unix socket path {path} is longer than 107 bytes");
        }

        var address = new LibC.SockAddrUn { Family = LibC.AF_UNIX };
        bytes.CopyTo(new Span<byte>(address.Path, 108));
        return address;
    }

    private static int Align(int length) => (length + 7) & ~7;

    private static int ControlSpace(int fds) => sizeof(LibC.CMsgHdr) + Align(fds * sizeof(int));
}
