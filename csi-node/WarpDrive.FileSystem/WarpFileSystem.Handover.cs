using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using WarpDrive.Cache;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem;

/// <summary>
/// Surviving a change of process: the session journal, and rebuilding from the journal of the process before.
/// See README.md, "Take-over".
/// </summary>
public sealed partial class WarpFileSystem
{
    /// <summary>Handle ids of generation g start at g &lt;&lt; 40, so no process reuses an id its predecessors gave the kernel.</summary>
    private const int GenerationShift = 40;

    private SafeFileHandle? _journalFile;
    private JournalState? _previous;
    private SessionJournal? _journal;

    /// <summary>Nodes and open files taken over from the previous process (0 after a fresh mount).</summary>
    public (int Nodes, int OpenFiles) Restored { get; private set; }

    /// <summary>
    /// Keeps a session journal in <paramref name="journal"/> (an empty memfd the host hands to the fd holder), and,
    /// when <paramref name="previous"/> is the journal of the process that served this connection before, rebuilds
    /// its node ids, reference counts and open files first. Call before mounting or resuming; the restore happens at
    /// <see cref="Initialize"/>, before the first request. Takes ownership of <paramref name="previous"/>.
    /// </summary>
    public void KeepJournal(SafeFileHandle journal, SafeFileHandle? previous)
    {
        ArgumentNullException.ThrowIfNull(journal);
        _journalFile = journal;
        if (previous is not null)
        {
            using (previous)
            {
                _previous = SessionJournal.Read(previous);
            }
        }
    }

    private void StartJournal(IFuseConnection connection)
    {
        if (_journalFile is null)
        {
            return;
        }

        var generation = 1UL;
        if (_previous is { } previous)
        {
            generation = previous.Generation + 1;
            Restore(previous, connection);
            _previous = null;
        }

        _files.StartAt(generation << GenerationShift);
        _directories.StartAt(generation << GenerationShift);
        var journal = SessionJournal.Start(_journalFile, generation);
        _inodes.AttachJournal(journal);
        foreach (var (handle, file) in _files.Pairs)
        {
            journal.Opened(handle, file.Inode.NodeId, file.Passthrough, file.BackingId);
        }

        _journal = journal;
    }

    private void Restore(JournalState previous, IFuseConnection connection)
    {
        var now = _time.GetTimestamp();
        var nodes = 0;
        foreach (var (id, node) in previous.Nodes)
        {
            if (id == NodeIdScheme.RootId || node.VirtualPath is null || node.Lookups <= 0)
            {
                continue;
            }

            _inodes.Restore(id, node.VirtualPath, _mounts.Resolve(node.VirtualPath), new NodeState(node.Entry, now), node.Lookups);
            nodes++;
        }

        var opens = 0;
        foreach (var group in previous.Opens.GroupBy(o => o.Value.NodeId))
        {
            if (!_inodes.TryGet(group.Key, out var inode) || inode.Mount is null || inode.State.Entry is not { IsDirectory: false } version)
            {
                _logger.LogWarning("take-over: {Count} open file(s) of node {Node} name no file this agent knows; their reads will fail", group.Count(), group.Key);
                continue;
            }

            var backend = inode.Mount.Backend;
            inode.MarkOpened();
            var passthrough = group.Where(o => o.Value.Passthrough).ToList();
            if (passthrough.Count > 0)
            {
                inode.OpenModes.RestoreBacking(RestoreBacking(connection, backend, version, passthrough[0].Value.BackingId), version.ETag, passthrough.Count);
            }

            foreach (var (handle, open) in group)
            {
                if (!open.Passthrough)
                {
                    inode.OpenModes.AddCachedOpen();
                }

                _files.TryPut(handle, new FileHandle(inode, _content.Open(backend, version), open.Passthrough) { BackingId = open.BackingId });
                opens++;
            }
        }

        Restored = (nodes, opens);
        _logger.LogInformation("take-over: restored {Nodes} node(s) and {Opens} open file(s) of generation {Generation}", nodes, opens, previous.Generation);
    }

    /// <summary>
    /// The kernel keeps a passthrough open's backing file itself; what the previous process also kept was the pin that
    /// stops the cache from evicting (hole-punching) those blocks under the kernel. Pin them again.
    /// </summary>
    private PassthroughBacking RestoreBacking(IFuseConnection connection, Backends.IBackend backend, Backends.BackendEntry version, int backingId)
    {
        if (_content is IPassthroughSource source && source.TryOpenComplete(backend, version, out var file, out var pin))
        {
            return new PassthroughBacking(connection, backingId, file, pin);
        }

        _logger.LogWarning("take-over: {Backend}:{Path} is open in passthrough but no longer complete in the cache; its blocks are not pinned", backend.Name, version.Path);
        return new PassthroughBacking(connection, backingId, null, null);
    }

    private async ValueTask<Errno> ReadRecreatedDirectoryAsync(Inode inode, ulong handle, long offset, DirectoryEntryWriter writer, CancellationToken cancellationToken)
    {
        var (listing, error) = await ListingOfAsync(inode, cancellationToken);
        if (error != Errno.Ok)
        {
            return error;
        }

        _directories.TryPut(handle, new DirectoryHandle(inode, listing!));
        return await ReadDirectoryAsync(inode.NodeId, handle, offset, writer, cancellationToken);
    }
}
