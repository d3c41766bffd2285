using WarpDrive.Backends;

namespace WarpDrive.FileSystem;

/// <summary>
/// node id → <see cref="Inode"/> and identity → <see cref="Inode"/>, with the kernel's lookup counts. A file's
/// identity is its path AND its ETag: a replaced file is a new inode (see <see cref="IdentityOf"/>).
/// One short lock guards both maps and the counts; nothing inside it awaits or does I/O (collision
/// records are persisted after the lock is released).
/// </summary>
internal sealed class InodeTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, Inode> _byId = [];
    private readonly Dictionary<string, Inode> _byPath = new(StringComparer.Ordinal);
    private readonly NodeIdScheme _ids;

    public InodeTable(NodeIdScheme ids, Inode root)
    {
        _ids = ids;
        _byId[root.NodeId] = root;
        _byPath[root.VirtualPath] = root;
        Root = root;
    }

    public Inode Root { get; }

    /// <summary>
    /// Where every change of what the kernel holds is written before the reply that causes it (null: not kept). Written
    /// under this table's lock so that a snapshot and the journal agree; a memfd write is a memory copy, not disk I/O.
    /// </summary>
    public SessionJournal? Journal { get; set; }

    /// <summary>
    /// What a node id stands for: a directory is its path; a file is one version of a path (path and ETag). Binding a
    /// file inode to one version lets the kernel keep an old version open (its page cache, a passthrough backing file)
    /// while new opens of the path get a new inode with the new content: the kernel allows one io mode and one backing
    /// file per inode, so two versions can never share one. Still deterministic, so ids survive a restart.
    /// </summary>
    public static string IdentityOf(string virtualPath, BackendEntry? entry) =>
        entry is { IsDirectory: false, ETag.Length: > 0 } ? virtualPath + "\0" + entry.ETag : virtualPath;

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _byId.Count;
            }
        }
    }

    public bool TryGet(ulong nodeId, out Inode inode)
    {
        lock (_lock)
        {
            return _byId.TryGetValue(nodeId, out inode!);
        }
    }

    public long LookupCountOf(ulong nodeId)
    {
        lock (_lock)
        {
            return _byId.TryGetValue(nodeId, out var inode) ? inode.LookupCount : 0;
        }
    }

    /// <summary>
    /// Adds one kernel reference to the node for <paramref name="virtualPath"/>, creating it (and choosing its
    /// id) if the kernel does not know it yet. <paramref name="state"/> replaces the known state when newer.
    /// </summary>
    public Inode Acquire(string virtualPath, Resolution resolution, NodeState state)
    {
        Inode inode;
        var collided = false;
        var identity = IdentityOf(virtualPath, state.Entry);
        lock (_lock)
        {
            if (_byPath.TryGetValue(identity, out inode!))
            {
                inode.LookupCount++;
                Journal?.LookupsChanged(inode.NodeId, 1);
                if (state.FetchedAt >= inode.State.FetchedAt)
                {
                    inode.State = state;
                }

                return inode;
            }

            var recorded = _ids.RecordedSeed(identity);
            var seed = recorded;
            ulong id;
            while (true)
            {
                id = _ids.Candidate(identity, seed);
                if (id != 0 && !_byId.ContainsKey(id))
                {
                    break;
                }

                seed++;
            }

            if (seed != recorded)
            {
                _ids.Remember(identity, seed);
                collided = true;
            }

            inode = new Inode(id, virtualPath, identity, resolution, state) { LookupCount = 1 };
            _byId[id] = inode;
            _byPath[identity] = inode;
            Journal?.NodeAppeared(inode, 1);
        }

        if (collided)
        {
            _ids.Persist();
        }

        return inode;
    }

    /// <summary>The id <see cref="Acquire"/> would give this identity (<see cref="IdentityOf"/>) now, without taking a reference (plain READDIR, "..").</summary>
    public ulong PeekId(string identity)
    {
        lock (_lock)
        {
            if (_byPath.TryGetValue(identity, out var live))
            {
                return live.NodeId;
            }

            for (var seed = _ids.RecordedSeed(identity); ; seed++)
            {
                var id = _ids.Candidate(identity, seed);
                if (id != 0 && !_byId.ContainsKey(id))
                {
                    return id;
                }
            }
        }
    }

    /// <summary>Drops <paramref name="lookups"/> references; the node goes when none are left (never the root).</summary>
    public void Forget(ulong nodeId, ulong lookups)
    {
        lock (_lock)
        {
            if (nodeId == NodeIdScheme.RootId || !_byId.TryGetValue(nodeId, out var inode))
            {
                return;
            }

            inode.LookupCount -= (long)Math.Min(lookups, long.MaxValue);
            Journal?.LookupsChanged(nodeId, -(long)Math.Min(lookups, long.MaxValue));
            if (inode.LookupCount <= 0)
            {
                _byId.Remove(nodeId);
                if (_byPath.TryGetValue(inode.Identity, out var current) && ReferenceEquals(current, inode))
                {
                    _byPath.Remove(inode.Identity);
                }
            }
        }
    }

    /// <summary>
    /// Puts back a node a previous process gave the kernel, with the kernel's reference count as the journal summed
    /// it. The id is taken as is: the kernel already uses it.
    /// </summary>
    public Inode Restore(ulong nodeId, string virtualPath, Resolution resolution, NodeState state, long lookups)
    {
        var identity = IdentityOf(virtualPath, state.Entry);
        var inode = new Inode(nodeId, virtualPath, identity, resolution, state) { LookupCount = lookups };
        lock (_lock)
        {
            _byId[nodeId] = inode;
            _byPath[identity] = inode;
        }

        return inode;
    }

    /// <summary>Starts writing to <paramref name="journal"/>: first every live node with its count, then every change.</summary>
    public void AttachJournal(SessionJournal journal)
    {
        lock (_lock)
        {
            foreach (var inode in _byId.Values)
            {
                if (inode.NodeId != NodeIdScheme.RootId)
                {
                    journal.NodeAppeared(inode, inode.LookupCount);
                }
            }

            Journal = journal;
        }
    }
}
