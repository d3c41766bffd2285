using Microsoft.Extensions.Logging;

namespace WarpDrive.Fuse.Handover;

/// <summary>
/// An agent's connection to the <see cref="FdHolder"/>: takes a mount's FUSE connection over at start, hands its own
/// descriptors in once serving, and hears when a successor wants the mount (<see cref="ReleaseRequested"/>).
/// The connection stays open for the agent's life: the holder knows the agent is alive while it is.
/// </summary>
/// <remarks>
/// One reader thread receives everything the holder sends; requests are one at a time (a lock around send and wait),
/// and RELEASE, which may come at any moment, goes to the event on the reader thread.
/// </remarks>
public sealed class FdHolderClient : IDisposable
{
    /// <summary>The environment variable naming the holder's socket (set by the systemd unit and the DaemonSet).</summary>
    public const string SocketVariable = "WARPDRIVE_FD_HOLDER";

    /// <summary>The key of a RELEASE that means every mount: a successor takes the whole node over (<see cref="Retire"/>).</summary>
    public const string Everything = "*";

    private static readonly TimeSpan ReplyTimeout = FdHolder.ReleaseTimeout + TimeSpan.FromSeconds(10);

    private readonly FdChannel _channel;
    private readonly ILogger _logger;
    private readonly Lock _requestLock = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Thread _reader;
    private TaskCompletionSource<(string Message, List<int> Fds)>? _reply;

    private FdHolderClient(FdChannel channel, string socketPath, ILogger logger)
    {
        _channel = channel;
        _logger = logger;
        SocketPath = socketPath;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "fd-holder-client" };
        _reader.Start();
    }

    public string SocketPath { get; }

    /// <summary>Raised (on the reader thread) with the mount point a successor is taking over.</summary>
    public event Action<string>? ReleaseRequested;

    /// <summary>Completes when the holder closed the connection (it stopped or crashed).</summary>
    public Task Closed => _closed.Task;

    /// <summary>Connects to the holder at <paramref name="socketPath"/>. Throws <see cref="IOException"/> naming the path and the cause.</summary>
    public static FdHolderClient Connect(string socketPath, ILogger logger) =>
        new(FdChannel.Connect(socketPath), socketPath, logger);

    /// <summary>
    /// Takes the held connection of <paramref name="mountPoint"/>, asking the agent that serves it now (if any) to let
    /// go first; null when the holder has none. Throws <see cref="IOException"/> when the holder fails or refuses.
    /// </summary>
    public HeldConnection? Take(string mountPoint)
    {
        var (message, fds) = Request("TAKE\t" + Key(mountPoint), []);
        var fields = message.Split('\t');
        switch (fields[0])
        {
            case "NONE":
                return null;
            case "FDS" when fields.Length >= 3 && HeldConnection.Parse(fields[2], fds) is { } held:
                return held;
            case "BUSY":
                Close(fds);
                throw new IOException($"fd holder {SocketPath}: {(fields.Length > 1 ? fields[1] : "busy")}");
            default:
                Close(fds);
                throw new IOException($"fd holder {SocketPath} answered TAKE with '{fields[0]}'");
        }
    }

    /// <summary>
    /// As <see cref="Take"/>, but a connection whose mount is gone meanwhile (unmounted from outside while no agent
    /// served it) is closed and dropped: null, and the caller mounts fresh.
    /// </summary>
    public HeldConnection? TakeIfMounted(string mountPoint)
    {
        var held = Take(mountPoint);
        if (held is null || FuseMounter.IsMounted(mountPoint))
        {
            return held;
        }

        _logger.LogWarning("the fd holder kept a connection of {MountPoint}, but it is no longer mounted; mounting fresh", mountPoint);
        held.CloseAll();
        Drop(mountPoint);
        return null;
    }

    /// <summary>
    /// Asks every other agent connected to this holder to let go (each exits without unmounting) and waits until they
    /// have; returns the mount points the holder keeps, for the caller to <see cref="Take"/>. Throws
    /// <see cref="IOException"/> when the holder fails or an agent does not let go.
    /// </summary>
    public IReadOnlyList<string> Retire()
    {
        var (message, fds) = Request("RETIRE", []);
        Close(fds);
        var fields = message.Split('\t');
        return fields[0] switch
        {
            "KEYS" => fields[1..],
            "BUSY" => throw new IOException($"fd holder {SocketPath}: {(fields.Length > 1 ? fields[1] : "busy")}"),
            _ => throw new IOException($"fd holder {SocketPath} answered RETIRE with '{fields[0]}'"),
        };
    }

    /// <summary>Hands the holder duplicates of <paramref name="connection"/>'s descriptors (ours stay open and ours).</summary>
    public void Hold(string mountPoint, HeldConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Expect("OK", Request($"HOLD\t{Key(mountPoint)}\t{connection.Note()}", connection.AllFds()), "HOLD");
    }

    /// <summary>Tells the holder the mount is gone (unmounted on purpose): it closes what it held.</summary>
    public void Drop(string mountPoint) => Expect("OK", Request("DROP\t" + Key(mountPoint), []), "DROP");

    public void Dispose()
    {
        _channel.Shutdown();
        _reader.Join(TimeSpan.FromSeconds(5));
        _channel.Dispose();
    }

    /// <summary>Mount points are held under their full path.</summary>
    public static string Key(string mountPoint) => Path.GetFullPath(mountPoint).TrimEnd('/') is { Length: > 0 } path ? path : "/";

    private (string Message, List<int> Fds) Request(string message, int[] fds)
    {
        lock (_requestLock)
        {
            var reply = new TaskCompletionSource<(string, List<int>)>(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _reply, reply);
            if (!_channel.Send(message, fds))
            {
                throw new IOException($"fd holder {SocketPath} is gone");
            }

            try
            {
                if (!reply.Task.Wait(ReplyTimeout))
                {
                    throw new IOException($"fd holder {SocketPath} did not answer within {ReplyTimeout.TotalSeconds:0}s");
                }
            }
            catch (AggregateException)
            {
                throw new IOException($"fd holder {SocketPath} closed the connection");
            }

            return reply.Task.Result;
        }
    }

    private void Expect(string wanted, (string Message, List<int> Fds) reply, string verb)
    {
        Close(reply.Fds);
        if (reply.Message != wanted)
        {
            throw new IOException($"fd holder {SocketPath} answered {verb} with '{reply.Message.Split('\t')[0]}'");
        }
    }

    private void ReadLoop()
    {
        try
        {
            while (true)
            {
                var fds = new List<int>();
                var message = _channel.Receive(fds);
                if (message is null)
                {
                    break;
                }

                if (message.StartsWith("RELEASE\t", StringComparison.Ordinal))
                {
                    Close(fds);
                    _logger.LogInformation("fd holder: a successor is taking over {MountPoint}", message[8..]);
                    ReleaseRequested?.Invoke(message[8..]);
                    continue;
                }

                var waiting = Interlocked.Exchange(ref _reply, null);
                if (waiting is null)
                {
                    Close(fds);
                    continue;
                }

                waiting.TrySetResult((message, fds));
            }
        }
        finally
        {
            Interlocked.Exchange(ref _reply, null)?.TrySetException(new IOException($"fd holder {SocketPath} closed the connection"));
            _closed.TrySetResult();
        }
    }

    private static void Close(List<int> fds)
    {
        foreach (var fd in fds)
        {
            Native.LibC.Close(fd);
        }
    }
}
