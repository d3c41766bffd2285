using Microsoft.Extensions.Logging;
using WarpDrive.Fuse.Native;

namespace WarpDrive.Fuse.Handover;

/// <summary>
/// The minimal process that keeps FUSE connections alive while the agent serving them restarts, crashes or is
/// replaced. It holds a duplicate of every /dev/fuse descriptor of each mount (keyed by mount point) and hands them
/// to whoever asks for that mount point next; it never reads a request, never mounts and never touches the data.
/// </summary>
/// <remarks>
/// <para>Why holding is enough: the kernel keeps a FUSE connection while any descriptor to it is open, and a request
/// read from a /dev/fuse descriptor stays on that descriptor's processing queue until it is answered or the
/// descriptor's last reference is closed (then the reader gets ECONNABORTED). Because the holder has a reference to
/// every reading descriptor, a killed agent closes nothing that matters: its unanswered requests wait, and the
/// successor makes the kernel send them again (FUSE_NOTIFY_RESEND).</para>
/// <para>Protocol (one text message per SOCK_SEQPACKET packet, fields split by tabs; descriptors by SCM_RIGHTS):
/// <c>HOLD key note</c> + fds → <c>OK</c> (replaces what was held for key; the sender becomes its owner);
/// <c>TAKE key</c> → <c>FDS key note</c> + fds, or <c>NONE</c>; when the key has a live owner, the holder first sends
/// it <c>RELEASE key</c> and waits (up to <see cref="ReleaseTimeout"/>) for its connection to close, else <c>BUSY</c>;
/// <c>DROP key</c> → <c>OK</c> (closes them: the owner unmounted); <c>RETIRE</c> → <c>KEYS key…</c>, after sending
/// <c>RELEASE *</c> to every other connected agent and waiting for each to close (a successor in another pod takes this
/// holder's whole node over, see the node README), else <c>BUSY</c>.</para>
/// <para>Threading: one thread per client connection, the accept loop on its own; the table is behind one lock that
/// is never held across a send or a wait.</para>
/// </remarks>
public sealed class FdHolder : IDisposable
{
    /// <summary>How long a TAKE waits for the current owner to let go before answering BUSY.</summary>
    public static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(60);

    private readonly string _socketPath;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly List<Client> _clients = [];
    private readonly int _listener;
    private readonly Thread _acceptor;
    private int _stopped;

    /// <summary>Listens at <paramref name="socketPath"/> (its directory is created; a stale socket replaced). Throws <see cref="IOException"/>.</summary>
    public FdHolder(string socketPath, ILogger logger)
    {
        _socketPath = Path.GetFullPath(socketPath);
        _logger = logger;
        Directory.CreateDirectory(Path.GetDirectoryName(_socketPath)!);
        _listener = FdChannel.Listen(_socketPath);
        _acceptor = new Thread(AcceptLoop) { IsBackground = true, Name = "fd-holder-accept" };
        _acceptor.Start();
    }

    /// <summary>Mount points currently held.</summary>
    public IReadOnlyList<string> Keys
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries.Keys];
            }
        }
    }

    /// <summary>
    /// Stops: a mount whose agent is still connected keeps being served by it (only our duplicates close); a mount
    /// nobody serves is unmounted (lazily), since after our descriptors close it could only answer ENOTCONN.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        LibC.Shutdown(_listener, 2);
        LibC.Close(_listener);
        List<(string Key, Entry Entry)> entries;
        List<Client> clients;
        lock (_lock)
        {
            entries = [.. _entries.Select(e => (e.Key, e.Value))];
            _entries.Clear();
            clients = [.. _clients];
        }

        foreach (var (key, entry) in entries)
        {
            if (entry.Owner is null)
            {
                _logger.LogInformation("fd holder stopping: unmounting {MountPoint}, which no agent serves", key);
                try
                {
                    FuseMounter.Unmount(key, lazy: true);
                }
                catch (FuseMountException e)
                {
                    _logger.LogWarning("could not unmount {MountPoint}: {Error}", key, e.Message);
                }
            }
            else
            {
                _logger.LogWarning("fd holder stopping while an agent serves {MountPoint}: a crash of that agent would now end the mount", key);
            }

            Close(entry.Fds);
        }

        foreach (var client in clients)
        {
            client.Channel.Shutdown();
        }

        try
        {
            File.Delete(_socketPath);
        }
        catch (IOException)
        {
            // Replaced at the next start anyway.
        }
    }

    private void AcceptLoop()
    {
        while (Volatile.Read(ref _stopped) == 0)
        {
            var channel = FdChannel.Accept(_listener);
            if (channel is null)
            {
                return;
            }

            var client = new Client(channel);
            lock (_lock)
            {
                _clients.Add(client);
            }

            new Thread(() => Serve(client)) { IsBackground = true, Name = "fd-holder-client" }.Start();
        }
    }

    private void Serve(Client client)
    {
        var fds = new List<int>();
        try
        {
            while (true)
            {
                fds.Clear();
                var message = client.Channel.Receive(fds);
                if (message is null)
                {
                    Close(fds);
                    return;
                }

                var fields = message.Split('\t');
                switch (fields[0])
                {
                    case "HOLD" when fields.Length >= 3 && fds.Count > 0:
                        Hold(client, fields[1], fields[2], [.. fds]);
                        client.Channel.Send("OK");
                        break;
                    case "TAKE" when fields.Length >= 2:
                        Close(fds);
                        Take(client, fields[1]);
                        break;
                    case "RETIRE":
                        Close(fds);
                        Retire(client);
                        break;
                    case "DROP" when fields.Length >= 2:
                        Close(fds);
                        Drop(fields[1]);
                        client.Channel.Send("OK");
                        break;
                    default:
                        Close(fds);
                        _logger.LogWarning("fd holder: ignoring a malformed message ({Verb}, {Count} descriptors)", fields[0], fds.Count);
                        client.Channel.Send("ERROR\tmalformed message");
                        break;
                }
            }
        }
        finally
        {
            Disconnected(client);
        }
    }

    private void Hold(Client client, string key, string note, int[] fds)
    {
        Entry? previous;
        lock (_lock)
        {
            _entries.TryGetValue(key, out previous);
            _entries[key] = new Entry(fds, note) { Owner = client };
        }

        if (previous is not null)
        {
            Close(previous.Fds);
        }

        _logger.LogInformation("holding {Count} descriptor(s) of {MountPoint}", fds.Length, key);
    }

    private void Take(Client client, string key)
    {
        Entry? entry;
        Client? owner;
        lock (_lock)
        {
            _entries.TryGetValue(key, out entry);
            owner = entry?.Owner;
        }

        if (entry is null)
        {
            client.Channel.Send("NONE");
            return;
        }

        if (owner is not null && owner != client)
        {
            _logger.LogInformation("{MountPoint} is taken over: asking its current agent to let go", key);
            owner.Channel.Send("RELEASE\t" + key);
            if (!owner.Closed.Wait(ReleaseTimeout))
            {
                client.Channel.Send($"BUSY\tthe agent serving {key} did not let go within {ReleaseTimeout.TotalSeconds:0}s");
                return;
            }
        }

        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out entry))
            {
                entry = null;
            }
            else
            {
                entry.Owner = client;
            }
        }

        if (entry is null)
        {
            client.Channel.Send("NONE");
            return;
        }

        // The kernel installs duplicates in the receiver; ours stay open until the new owner sends its own set.
        client.Channel.Send($"FDS\t{key}\t{entry.Note}", entry.Fds);
        _logger.LogInformation("handed {Count} descriptor(s) of {MountPoint} to a new agent", entry.Fds.Length, key);
    }

    /// <summary>Every other agent connected here lets go (and exits); then the asker learns which mounts are held.</summary>
    private void Retire(Client client)
    {
        List<Client> others;
        lock (_lock)
        {
            others = [.. _clients.Where(c => c != client)];
        }

        _logger.LogInformation("a successor takes this node over: asking {Count} agent(s) to let go", others.Count);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        foreach (var other in others)
        {
            other.Channel.Send("RELEASE\t" + FdHolderClient.Everything);
        }

        foreach (var other in others)
        {
            var left = ReleaseTimeout - waited.Elapsed;
            if (!other.Closed.Wait(left > TimeSpan.Zero ? left : TimeSpan.Zero))
            {
                client.Channel.Send($"BUSY\tan agent did not let go within {ReleaseTimeout.TotalSeconds:0}s");
                return;
            }
        }

        string[] keys;
        lock (_lock)
        {
            keys = [.. _entries.Keys];
        }

        client.Channel.Send(string.Join('\t', ["KEYS", .. keys]));
    }

    private void Drop(string key)
    {
        Entry? entry;
        lock (_lock)
        {
            if (_entries.Remove(key, out entry))
            {
                _logger.LogInformation("released {MountPoint} (unmounted by its agent)", key);
            }
        }

        if (entry is not null)
        {
            Close(entry.Fds);
        }
    }

    private void Disconnected(Client client)
    {
        var orphaned = new List<string>();
        lock (_lock)
        {
            _clients.Remove(client);
            foreach (var (key, entry) in _entries)
            {
                if (entry.Owner == client)
                {
                    entry.Owner = null;
                    orphaned.Add(key);
                }
            }
        }

        foreach (var key in orphaned)
        {
            _logger.LogWarning("the agent serving {MountPoint} went away; keeping its connection for the next agent", key);
        }

        client.Closed.Set();
        client.Channel.Dispose();
    }

    private static void Close(IEnumerable<int> fds)
    {
        foreach (var fd in fds)
        {
            LibC.Close(fd);
        }
    }

    private sealed class Entry(int[] fds, string note)
    {
        public int[] Fds { get; } = fds;

        public string Note { get; } = note;

        /// <summary>The connected agent serving this mount; null while none is (crashed, or between agents).</summary>
        public Client? Owner { get; set; }
    }

    private sealed class Client(FdChannel channel)
    {
        public FdChannel Channel { get; } = channel;

        public ManualResetEventSlim Closed { get; } = new();
    }
}
