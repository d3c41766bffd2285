using System.Net.Sockets;
using System.Text;

namespace WarpDrive.Deploy.Tests;

/// <summary>
/// What systemd does for a Type=notify unit: a SOCK_DGRAM unix socket bound at a path (in a temp dir) or in the
/// abstract namespace, whose address goes into $NOTIFY_SOCKET. Receives with a timeout so a missing datagram
/// fails the test instead of hanging it.
/// </summary>
public sealed class NotifyListener : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
    private readonly string? _directory;

    private NotifyListener(string address, string? directory)
    {
        Address = address;
        _directory = directory;
        _socket.ReceiveTimeout = 10_000;
    }

    /// <summary>The value for $NOTIFY_SOCKET.</summary>
    public string Address { get; }

    public static NotifyListener AtPath()
    {
        var directory = Directory.CreateTempSubdirectory("wd-notify-").FullName;
        var path = Path.Combine(directory, "notify.sock");
        var listener = new NotifyListener(path, directory);
        listener._socket.Bind(new UnixDomainSocketEndPoint(path));
        return listener;
    }

    public static NotifyListener InAbstractNamespace()
    {
        var name = $"warpdrive-test-{Guid.NewGuid():N}";
        var listener = new NotifyListener("@" + name, directory: null);
        listener._socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
        return listener;
    }

    /// <summary>The next datagram, exactly as sent.</summary>
    public string Receive()
    {
        var buffer = new byte[4096];
        var length = _socket.Receive(buffer);
        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    /// <summary>Whether a datagram is waiting (without blocking).</summary>
    public bool HasPending => _socket.Available > 0;

    public void Dispose()
    {
        _socket.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
