using Microsoft.Extensions.Logging;
using WarpDrive.Fuse.Handover;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// The CSI plugin's fd holders on this node. Its own holder is a container of its pod, listening on
/// <c>&lt;dir&gt;/&lt;pod uid&gt;.sock</c> in a directory every pod of the DaemonSet shares on the node. During a
/// rolling update (maxSurge 1, maxUnavailable 0) the old pod and the new one run side by side: the other sockets in the
/// directory are the holders of those pods. Older ones are predecessors, whose mounts this agent takes over; a newer
/// one is a successor, and this agent must not serve at all (its pod is being replaced).
/// </summary>
/// <remarks>
/// Older and newer are judged by each socket's creation time, i.e. when its holder started: a new pod's holder starts
/// after the old pod's. A socket nobody listens on was left by a holder that died and is removed.
/// </remarks>
public sealed class PluginHolders : IDisposable
{
    private readonly ILogger _logger;
    private readonly List<FdHolderClient> _predecessors;
    private readonly Dictionary<string, FdHolderClient> _takenFrom = new(StringComparer.Ordinal);

    private PluginHolders(HolderLink own, List<FdHolderClient> predecessors, string? successor, ILogger logger)
    {
        Own = own;
        _predecessors = predecessors;
        Successor = successor;
        _logger = logger;
    }

    /// <summary>This pod's holder: every mount this agent serves is held there.</summary>
    public HolderLink Own { get; }

    /// <summary>The socket of a newer pod's holder on this node, or null: when set, this agent must not serve.</summary>
    public string? Successor { get; }

    /// <summary>Whether an agent of an older pod was asked to let go: it may still be releasing the cache for a moment.</summary>
    public bool RetiredAny { get; private set; }

    /// <summary>Connects to this pod's holder at <paramref name="ownSocket"/> (awaiting it) and to every other live holder beside it.</summary>
    public static async Task<PluginHolders> ConnectAsync(string ownSocket, ILogger logger)
    {
        ownSocket = Path.GetFullPath(ownSocket);
        var own = await HolderLink.ConnectForPluginAsync(ownSocket, TimeSpan.FromSeconds(30), logger).ConfigureAwait(false);
        var ownStart = File.Exists(ownSocket) ? File.GetLastWriteTimeUtc(ownSocket) : DateTime.MaxValue;
        var predecessors = new List<FdHolderClient>();
        string? successor = null;
        foreach (var socket in Directory.EnumerateFiles(Path.GetDirectoryName(ownSocket)!, "*.sock"))
        {
            if (socket == ownSocket)
            {
                continue;
            }

            var started = File.GetLastWriteTimeUtc(socket);
            FdHolderClient client;
            try
            {
                client = FdHolderClient.Connect(socket, logger);
            }
            catch (IOException)
            {
                logger.LogInformation("removing {Socket}: no fd holder listens there any more", socket);
                TryDelete(socket);
                continue;
            }

            if (started > ownStart)
            {
                successor = socket;
                client.Dispose();
            }
            else
            {
                logger.LogInformation("an older pod's fd holder is on this node ({Socket}): this agent takes its mounts over", socket);
                predecessors.Add(client);
            }
        }

        return new PluginHolders(own, predecessors, successor, logger);
    }

    /// <summary>
    /// Collects every live connection this agent is to serve, keyed by mount point: those our own holder keeps for
    /// <paramref name="leftovers"/> (this container restarted), then everything older pods' holders keep, after their
    /// agents have let go (<see cref="FdHolderClient.Retire"/>). The caller owns the descriptors returned.
    /// </summary>
    public Dictionary<string, HeldConnection> TakeAll(IEnumerable<string> leftovers)
    {
        var taken = new Dictionary<string, HeldConnection>(StringComparer.Ordinal);
        if (Own.Current is { } own)
        {
            foreach (var key in leftovers.Select(FdHolderClient.Key))
            {
                TryTake(own, key, taken);
            }
        }

        foreach (var predecessor in _predecessors)
        {
            IReadOnlyList<string> keys;
            try
            {
                keys = predecessor.Retire();
                RetiredAny = true;
            }
            catch (IOException e)
            {
                _logger.LogError("could not take the mounts of {Socket} over: {Error}", predecessor.SocketPath, e.Message);
                continue;
            }

            foreach (var key in keys.Where(k => !taken.ContainsKey(k)))
            {
                if (TryTake(predecessor, key, taken))
                {
                    _takenFrom[key] = predecessor;
                }
            }
        }

        return taken;
    }

    /// <summary>Our own holder now keeps <paramref name="mountPoint"/>: the older holder it came from forgets it.</summary>
    public void Adopted(string mountPoint)
    {
        if (_takenFrom.Remove(FdHolderClient.Key(mountPoint), out var predecessor))
        {
            Forget(predecessor, mountPoint);
        }
    }

    /// <summary>A mount taken over but not served after all (its source left the config): no holder keeps it.</summary>
    public void Abandoned(string mountPoint)
    {
        Adopted(mountPoint);
        if (Own.Current is { } own)
        {
            Forget(own, mountPoint);
        }
    }

    public void Dispose()
    {
        foreach (var predecessor in _predecessors)
        {
            predecessor.Dispose();
        }

        Own.Dispose();
    }

    private bool TryTake(FdHolderClient holder, string key, Dictionary<string, HeldConnection> taken)
    {
        try
        {
            if (holder.TakeIfMounted(key) is { } held)
            {
                taken[key] = held;
                return true;
            }
        }
        catch (IOException e)
        {
            _logger.LogError("could not take {MountPoint} from the fd holder {Socket}: {Error}", key, holder.SocketPath, e.Message);
        }

        return false;
    }

    private void Forget(FdHolderClient holder, string mountPoint)
    {
        try
        {
            holder.Drop(mountPoint);
        }
        catch (IOException e)
        {
            _logger.LogWarning("could not tell the fd holder {Socket} to forget {MountPoint}: {Error}", holder.SocketPath, mountPoint, e.Message);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Harmless: it is skipped again next time.
        }
    }
}
