using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// The sd_notify(3) protocol, spoken directly: each state change is one datagram of <c>KEY=VALUE</c> lines sent to
/// the unix socket named by <c>$NOTIFY_SOCKET</c> (a path, or <c>@name</c> for the abstract namespace). systemd
/// sets that variable for <c>Type=notify</c> units; anywhere else it is unset and every call is a no-op.
/// </summary>
/// <remarks>
/// Never throws into the caller: a lost notification must not take the mount down with it (systemd then times
/// the start out, which is visible and recoverable). Failures are logged once per notifier and reported as
/// <c>false</c>. Safe to call from several threads: each call is one <c>sendto</c> on a connectionless socket.
/// </remarks>
public sealed class SystemdNotifier : IDisposable
{
    /// <summary>The environment variable systemd sets to the address of its notification socket.</summary>
    public const string SocketVariable = "NOTIFY_SOCKET";

    private readonly UnixDomainSocketEndPoint? _endPoint;
    private readonly Socket? _socket;
    private readonly ILogger _logger;
    private int _failureLogged;

    /// <summary>A notifier for <paramref name="notifySocket"/> (the value of <c>$NOTIFY_SOCKET</c>); null or empty disables it.</summary>
    public SystemdNotifier(string? notifySocket, ILogger logger)
    {
        _logger = logger;
        if (string.IsNullOrEmpty(notifySocket))
        {
            return;
        }

        // Only absolute paths and '@' (abstract) are unix addresses; newer systemd also knows vsock:, which we do not speak.
        if (notifySocket[0] is not ('/' or '@'))
        {
            logger.LogWarning("{Variable}={Value} is not a unix socket address; not notifying systemd", SocketVariable, notifySocket);
            return;
        }

        try
        {
            _endPoint = new UnixDomainSocketEndPoint(notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket);
            _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        }
        catch (Exception e) when (e is SocketException or ArgumentException or PlatformNotSupportedException)
        {
            logger.LogWarning("cannot notify systemd at {Address}: {Error}", notifySocket, e.Message);
            _endPoint = null;
            _socket = null;
        }
    }

    /// <summary>Whether there is a socket to notify (systemd started us as a notify service).</summary>
    public bool IsEnabled => _socket is not null;

    /// <summary>A notifier for the socket in <c>$NOTIFY_SOCKET</c>, or a disabled one when it is unset.</summary>
    public static SystemdNotifier FromEnvironment(ILogger logger) => new(Environment.GetEnvironmentVariable(SocketVariable), logger);

    /// <summary><c>READY=1</c>: start-up is finished; systemd lets units ordered after us start.</summary>
    public bool Ready() => Notify("READY=1");

    /// <summary><c>STATUS=...</c>: one line shown by <c>systemctl status</c>.</summary>
    public bool Status(string status) => Notify("STATUS=" + OneLine(status));

    /// <summary><c>STOPPING=1</c>: shutdown has begun (systemd shows "deactivating" until we exit).</summary>
    public bool Stopping() => Notify("STOPPING=1");

    /// <summary><c>MAINPID=</c>: the process systemd should treat as the service's main process.</summary>
    public bool MainPid(int pid) => Notify("MAINPID=" + pid.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// Sends <paramref name="state"/> (newline-separated assignments) as one datagram. Returns whether it was sent;
    /// false when disabled or when sending failed (logged once, never thrown).
    /// </summary>
    public bool Notify(string state)
    {
        if (_socket is null || _endPoint is null)
        {
            return false;
        }

        try
        {
            _socket.SendTo(Encoding.UTF8.GetBytes(state), SocketFlags.None, _endPoint);
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Typically ENOENT/ECONNREFUSED (no listener) or EAGAIN (systemd busy); later calls may still succeed.
            if (Interlocked.Exchange(ref _failureLogged, 1) == 0)
            {
                _logger.LogWarning("could not notify systemd ({State}): {Error}", state.Split('\n')[0], e.Message);
            }

            return false;
        }
    }

    public void Dispose() => _socket?.Dispose();

    /// <summary>A newline would start a new assignment, so a status is folded onto one line.</summary>
    private static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
