using System.Text;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.Cache;
using WarpDrive.Fuse;
using WarpDrive.Telemetry;
using FileAttributes = WarpDrive.Fuse.FileAttributes;

namespace WarpDrive.FileSystem;

/// <summary>
/// The read-only POSIX tree the kernel sees: every backend under its mount path, directories above mounts
/// synthesised, node ids derived from paths so they survive a restart. See README.md for the design.
/// </summary>
public sealed partial class WarpFileSystem : IFuseFileSystem
{
    private const uint DirectoryPermissions = 0x16D; // 0555
    private const uint FilePermissions = 0x124; // 0444
    private const int AccessWrite = 2;
    private const int AccessRead = 4;
    private const int AccessExecute = 1;
    private const int OpenAccessModeMask = 3; // O_ACCMODE
    private const int SeekData = 3;
    private const int SeekHole = 4;
    private const int MaxNameBytes = 255;

    private const string XattrBackend = "user.warpdrive.backend";
    private const string XattrETag = "user.warpdrive.etag";
    private const string XattrSource = "user.warpdrive.source";
    private static readonly byte[] XattrNames = Encoding.UTF8.GetBytes(XattrBackend + "\0" + XattrETag + "\0" + XattrSource + "\0");

    private readonly FileSystemOptions _options;
    private readonly MountTable _mounts;
    private readonly IContentSource _content;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _started;
    private readonly InodeTable _inodes;
    private readonly DirectoryCache _directoryCache;
    private readonly HandleTable<FileHandle> _files = new();
    private readonly HandleTable<DirectoryHandle> _directories = new();
    private readonly Singleflight<string, BackendEntry?> _statCalls = new();
    private readonly Singleflight<string, DirectoryListing> _listCalls = new();
    private IFuseConnection? _connection;

    /// <summary>Timestamp of the last <see cref="DropCaches"/>: what was fetched before it is stale whatever its age.</summary>
    private long _droppedAt = long.MinValue;

    /// <summary>False when access telemetry is off, so the read path skips even the clock read.</summary>
    private readonly bool _recording;

    public WarpFileSystem(FileSystemOptions options, IReadOnlyList<BackendMount> mounts, IContentSource content, ILogger logger)
        : this(options, mounts, content, logger, TimeProvider.System, nodeIdHash: null)
    {
    }

    /// <param name="nodeIdHash">Replaces XxHash64(path, seed); tests use it to force collisions.</param>
    internal WarpFileSystem(
        FileSystemOptions options,
        IReadOnlyList<BackendMount> mounts,
        IContentSource content,
        ILogger logger,
        TimeProvider time,
        Func<string, int, ulong>? nodeIdHash)
    {
        _options = options;
        _mounts = new MountTable(mounts);
        _content = content;
        _logger = logger;
        _time = time;
        _started = time.GetUtcNow();
        var root = new Inode(NodeIdScheme.RootId, MountTable.Root, MountTable.Root, _mounts.Resolve(MountTable.Root), new NodeState(null, time.GetTimestamp()));
        _inodes = new InodeTable(new NodeIdScheme(options.NodeIdStatePath, logger, nodeIdHash), root);
        _directoryCache = new DirectoryCache(options.DirCacheEntries, options.DirCacheTtl, time);
        _recording = options.AccessRecorder is not NullAccessRecorder;
    }

    public FileSystemStats Stats { get; } = new();

    /// <summary>Nodes the kernel currently holds references to, the root included.</summary>
    internal int LiveNodeCount => _inodes.Count;

    internal long LookupCountOf(ulong nodeId) => _inodes.LookupCountOf(nodeId);

    internal int OpenFileCount => _files.Count;

    public void Initialize(IFuseConnection connection)
    {
        _connection = connection;
        StartJournal(connection);
    }

    /// <summary>
    /// Forgets every cached listing and makes every known name's metadata stale, so the next listing, stat or
    /// open asks the backend: files added to or replaced in a source are seen now instead of after
    /// <c>dir_cache_ttl</c>. Cached file blocks stay (they are keyed by ETag, so a changed object is never served
    /// from them). The kernel's own caches (entry_ttl, attr_ttl, negative_ttl) still run out on their own.
    /// </summary>
    public void DropCaches()
    {
        Volatile.Write(ref _droppedAt, _time.GetTimestamp());
        _directoryCache.Clear();
    }

    private bool IsStale(NodeState state, TimeSpan ttl) =>
        state.FetchedAt <= Volatile.Read(ref _droppedAt) || _time.GetElapsedTime(state.FetchedAt) >= ttl;

    public async ValueTask<FuseResult<FuseEntry>> LookupAsync(ulong parent, string name, FuseRequestContext context, CancellationToken cancellationToken)
    {
        Stats.CountLookup();
        if (!_inodes.TryGet(parent, out var directory))
        {
            return Errno.ENOENT;
        }

        if (!directory.IsDirectory)
        {
            return Errno.ENOTDIR;
        }

        if (name.Length == 0 || name is "." or ".." || name.Contains('/'))
        {
            return Errno.ENOENT;
        }

        if (Encoding.UTF8.GetByteCount(name) > MaxNameBytes)
        {
            return Errno.ENAMETOOLONG;
        }

        var path = MountTable.Join(directory.VirtualPath, name);
        var resolution = _mounts.Resolve(path);
        NodeState state;
        if (resolution.IsVirtualDirectory)
        {
            state = new NodeState(null, _time.GetTimestamp());
        }
        else if (resolution.Mount is null)
        {
            return Negative();
        }
        else if (_directoryCache.TryGetFresh(directory.VirtualPath) is { } listing)
        {
            if (!listing.TryFind(name, out var listed) || listed.Entry is null)
            {
                return Negative();
            }

            state = new NodeState(listed.Entry, listing.FetchedAt);
        }
        else
        {
            var (entry, error) = await StatAsync(resolution.Mount, resolution.RelativePath, "lookup", cancellationToken);
            if (error != Errno.Ok)
            {
                return error;
            }

            if (entry is null)
            {
                return Negative();
            }

            state = new NodeState(entry, _time.GetTimestamp());
        }

        var found = _inodes.Acquire(path, resolution, state);
        RecordAccess(AccessOp.Stat, found, context, bytesRead: 0, started: 0); // sampled by the recorder
        return EntryFor(found);
    }

    public void Forget(ulong nodeId, ulong lookups) => _inodes.Forget(nodeId, lookups);

    public async ValueTask<FuseResult<FuseAttributesReply>> GetAttributesAsync(ulong nodeId, ulong? handle, CancellationToken cancellationToken)
    {
        if (!_inodes.TryGet(nodeId, out var inode))
        {
            return Errno.ENOENT;
        }

        if (!inode.IsVirtualDirectory && IsStale(inode.State, _options.AttrTtl))
        {
            var error = await RefreshAsync(inode, "getattr", cancellationToken);
            if (error == Errno.ESTALE && handle is not null)
            {
                // fstat of a file opened before the object was replaced: it still reads that version, so it keeps its size.
                return new FuseAttributesReply(AttributesOf(inode), _options.AttrTtl);
            }

            if (error != Errno.Ok)
            {
                return error;
            }
        }

        return new FuseAttributesReply(AttributesOf(inode), _options.AttrTtl);
    }

    public async ValueTask<FuseResult<FuseOpenReply>> OpenAsync(ulong nodeId, int flags, FuseRequestContext context, CancellationToken cancellationToken)
    {
        if (!_inodes.TryGet(nodeId, out var inode))
        {
            return Errno.ENOENT;
        }

        if (inode.IsDirectory)
        {
            return Errno.EISDIR;
        }

        if ((flags & OpenAccessModeMask) != 0)
        {
            return Errno.EROFS;
        }

        if (IsStale(inode.State, _options.StatTtl))
        {
            var error = await RefreshAsync(inode, "open", cancellationToken);
            if (error != Errno.Ok)
            {
                return error;
            }
        }

        var version = inode.State.Entry!;
        if (version.IsDirectory)
        {
            return Errno.EISDIR;
        }

        if (inode.Mount!.AccessCheck is { } check)
        {
            try
            {
                // Before the cache or passthrough can serve a byte: those bytes may have been fetched by another identity.
                await check.EnsureReadableAsync(version, cancellationToken);
            }
            catch (Exception e)
            {
                return Fail("open", inode.Mount, inode.RelativePath, e, cancellationToken);
            }
        }

        var backend = inode.Mount.Backend;
        var modes = inode.OpenModes;
        var backing = modes.TryShareBacking(out var backingETag);
        if (backing is null && !modes.HasCachedOpens && TryOpenPassthrough(backend, version) is { } candidate)
        {
            backing = modes.Install(candidate, version);
        }

        if (backing is not null)
        {
            // The kernel reads the backing file itself. While any passthrough open of this inode lives, every open must
            // share that backing, so a version that changed meanwhile is served from the next open after they all close.
            if (backingETag is not null && backingETag != version.ETag)
            {
                _logger.LogDebug("{Backend}:{Path} changed while open in passthrough; this open shares the open version", backend.Name, version.Path);
            }

            Stats.CountPassthroughOpen();
            // Reads of a passthrough open never reach us (the kernel reads the cached file): the open is the event.
            RecordAccess(AccessOp.Open, inode, context, bytesRead: 0, started: 0, cacheHit: true);
            var handle = _files.Add(new FileHandle(inode, _content.Open(backend, version), passthrough: true, context) { BackingId = backing.BackingId });
            _journal?.Opened(handle, inode.NodeId, passthrough: true, backing.BackingId);
            // The kernel refuses KEEP_CACHE with passthrough (EIO at open): reads go to the backing file's own page cache.
            return new FuseOpenReply(handle, FuseOpenFlags.Passthrough, backing.BackingId);
        }

        modes.AddCachedOpen();
        // An inode is one version of its path (a replaced file is a new inode), so after its first open whatever the
        // kernel cached for it is still right. At the first open we know nothing of what an earlier agent left there.
        var openFlags = inode.MarkOpened() ? FuseOpenFlags.KeepCache : FuseOpenFlags.None;
        RecordAccess(AccessOp.Open, inode, context, bytesRead: 0, started: 0);
        var cached = _files.Add(new FileHandle(inode, _content.Open(backend, version), passthrough: false, context));
        _journal?.Opened(cached, inode.NodeId, passthrough: false, backingId: 0);
        return new FuseOpenReply(cached, openFlags);
    }

    /// <summary>
    /// A fully cached, verified file is handed to the kernel as a backing file: it then serves reads itself.
    /// The pin keeps the cache from punching holes under the kernel until release.
    /// </summary>
    private PassthroughBacking? TryOpenPassthrough(IBackend backend, BackendEntry version)
    {
        if (_connection is not { PassthroughAvailable: true } connection || _content is not IPassthroughSource source
            || !source.TryOpenComplete(backend, version, out var file, out var pin))
        {
            return null;
        }

        var backingId = connection.OpenBacking(file);
        if (backingId <= 0)
        {
            _logger.LogDebug("passthrough refused for {Backend}:{Path} (errno {Errno}); serving reads ourselves", backend.Name, version.Path, -backingId);
            file.Dispose();
            pin.Dispose();
            return null;
        }

        return new PassthroughBacking(connection, backingId, file, pin);
    }

    public async ValueTask<FuseResult<int>> ReadAsync(ulong nodeId, ulong handle, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (!_files.TryGet(handle, out var file))
        {
            return Errno.EBADF;
        }

        var started = _recording ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;
        try
        {
            var read = await file.Reader.ReadWithOutcomeAsync(offset, destination, cancellationToken);
            Stats.CountRead(read.Bytes);
            RecordAccess(AccessOp.Read, file.Inode, file.Opener, read.Bytes, started, read.FromCache);
            return read.Bytes;
        }
        catch (BackendException e) when (e.Kind == BackendErrorKind.Changed)
        {
            // The object was replaced while this file was open. Serving the rest from the new version would hand the
            // reader a file stitched from two versions, so this handle goes stale (as on NFS); a new open sees the new
            // version, and the kernel forgets what it cached of the old one.
            _ = RefreshAsync(file.Inode, "read", CancellationToken.None).AsTask();
            InvalidateInodeLater(file.Inode.NodeId);
            return Fail("read", file.Inode.Mount, file.Inode.RelativePath, e, Errno.ESTALE);
        }
        catch (Exception e)
        {
            return Fail("read", file.Inode.Mount, file.Inode.RelativePath, e, cancellationToken);
        }
    }

    public void Release(ulong nodeId, ulong handle)
    {
        if (_files.TryRemove(handle, out var file))
        {
            _journal?.Released(handle);
            file.Dispose();
        }
    }

    public async ValueTask<FuseResult<FuseOpenReply>> OpenDirectoryAsync(ulong nodeId, FuseRequestContext context, CancellationToken cancellationToken)
    {
        if (!_inodes.TryGet(nodeId, out var inode))
        {
            return Errno.ENOENT;
        }

        if (!inode.IsDirectory)
        {
            return Errno.ENOTDIR;
        }

        var (listing, error) = await ListingOfAsync(inode, cancellationToken);
        if (error != Errno.Ok)
        {
            return error;
        }

        RecordAccess(AccessOp.List, inode, context, bytesRead: 0, started: 0); // sampled by the recorder
        return new FuseOpenReply(_directories.Add(new DirectoryHandle(inode, listing!)), FuseOpenFlags.None);
    }

    public ValueTask<Errno> ReadDirectoryAsync(ulong nodeId, ulong handle, long offset, DirectoryEntryWriter writer, CancellationToken cancellationToken)
    {
        if (!_directories.TryGet(handle, out var directory))
        {
            // A directory opened under the previous agent (take-over): list it again under the same handle.
            return _journal is not null && _inodes.TryGet(nodeId, out var opened) && opened.IsDirectory
                ? ReadRecreatedDirectoryAsync(opened, handle, offset, writer, cancellationToken)
                : ValueTask.FromResult(Errno.EBADF);
        }

        var dir = directory.Inode;
        var entries = directory.Listing.Entries;
        // Position i: 0 is ".", 1 is "..", i ≥ 2 is entries[i - 2]; an entry's next offset is i + 1.
        for (var i = Math.Max(offset, 0); i < entries.Length + 2; i++)
        {
            if (!TryAddAt(writer, dir, directory.Listing, i))
            {
                break;
            }
        }

        return ValueTask.FromResult(Errno.Ok);
    }

    public void ReleaseDirectory(ulong nodeId, ulong handle) => _directories.TryRemove(handle, out _);

    public FuseResult<FuseStatFs> StatFs(ulong nodeId)
    {
        // df shows the node's block cache: Size = cache.max_size, Used = cached bytes, Avail = the rest. The tree
        // itself is read-only and has no capacity of its own; "1.0P" told the user nothing.
        const uint blockSize = 4096;
        const ulong files = 1UL << 32; // no inode limit: objects are named, not allocated
        if (_options.Capacity?.Invoke() is not { } capacity)
        {
            return new FuseStatFs(0, 0, 0, files, files, blockSize, MaxNameBytes);
        }

        var total = (ulong)Math.Max(capacity.TotalBytes, 0) / blockSize;
        var used = Math.Min((ulong)Math.Max(capacity.UsedBytes, 0) / blockSize, total);
        return new FuseStatFs(total, total - used, total - used, files, files, blockSize, MaxNameBytes);
    }

    public Errno Access(ulong nodeId, int mask, FuseRequestContext context)
    {
        if (!_inodes.TryGet(nodeId, out var inode))
        {
            return Errno.ENOENT;
        }

        if ((mask & AccessWrite) != 0)
        {
            return Errno.EROFS;
        }

        var mode = AttributesOf(inode).Mode;
        var wanted = (uint)(mask & (AccessRead | AccessExecute));
        var granted = context.Uid == 0
            ? ((mode >> 6) | (mode >> 3) | mode) & 7 | AccessRead // root reads anything, executes if anyone may
            : context.Uid == _options.Uid ? (mode >> 6) & 7
            : context.Gid == _options.Gid ? (mode >> 3) & 7
            : mode & 7;
        return (granted & wanted) == wanted ? Errno.Ok : Errno.EACCES;
    }

    public FuseResult<int> GetExtendedAttribute(ulong nodeId, string name, Span<byte> destination)
    {
        if (!_inodes.TryGet(nodeId, out var inode))
        {
            return Errno.ENOENT;
        }

        if (!HasSourceAttributes(inode, out var entry))
        {
            return Errno.ENODATA;
        }

        var value = name switch
        {
            XattrBackend => inode.Mount!.Backend.Name,
            XattrETag => entry.ETag,
            XattrSource => inode.Mount!.Backend.Type + ":" + inode.RelativePath,
            _ => null,
        };
        if (value is null)
        {
            return Errno.ENODATA;
        }

        var size = Encoding.UTF8.GetByteCount(value);
        if (destination.IsEmpty)
        {
            return size;
        }

        return size > destination.Length ? Errno.ERANGE : Encoding.UTF8.GetBytes(value, destination);
    }

    public FuseResult<int> ListExtendedAttributes(ulong nodeId, Span<byte> destination)
    {
        if (!_inodes.TryGet(nodeId, out var inode))
        {
            return Errno.ENOENT;
        }

        if (!HasSourceAttributes(inode, out _))
        {
            return 0;
        }

        if (destination.IsEmpty)
        {
            return XattrNames.Length;
        }

        if (XattrNames.Length > destination.Length)
        {
            return Errno.ERANGE;
        }

        XattrNames.CopyTo(destination);
        return XattrNames.Length;
    }

    public ValueTask<FuseResult<long>> SeekAsync(ulong nodeId, ulong handle, long offset, int whence, CancellationToken cancellationToken)
    {
        long size;
        if (_files.TryGet(handle, out var file))
        {
            size = file.Reader.Version.Size;
        }
        else if (_inodes.TryGet(nodeId, out var inode) && inode.State.Entry is { IsDirectory: false } entry)
        {
            size = entry.Size;
        }
        else
        {
            return ValueTask.FromResult<FuseResult<long>>(Errno.EBADF);
        }

        FuseResult<long> result = whence switch
        {
            _ when offset < 0 => Errno.EINVAL,
            // Objects have no holes: all data up to the size, one implicit hole at the end (as lseek(2) on Linux).
            SeekData or SeekHole when offset >= size => Errno.ENXIO,
            SeekData => offset,
            SeekHole => size,
            _ => Errno.EINVAL,
        };
        return ValueTask.FromResult(result);
    }

    public void Destroy()
    {
        foreach (var file in _files.Values)
        {
            file.Dispose();
        }
    }

    private bool TryAddAt(DirectoryEntryWriter writer, Inode dir, DirectoryListing listing, long position)
    {
        var nextOffset = position + 1;
        if (position == 0)
        {
            return writer.TryAdd(".", dir.NodeId, FileAttributes.S_IFDIR, nextOffset, default);
        }

        if (position == 1)
        {
            return writer.TryAdd("..", _inodes.PeekId(MountTable.ParentOf(dir.VirtualPath)), FileAttributes.S_IFDIR, nextOffset, default);
        }

        var listed = listing.Entries[position - 2];
        var path = MountTable.Join(dir.VirtualPath, listed.Name);
        var mode = listed.IsDirectory ? FileAttributes.S_IFDIR : FileAttributes.S_IFREG;
        if (!writer.IsPlus)
        {
            return writer.TryAdd(listed.Name, _inodes.PeekId(InodeTable.IdentityOf(path, listed.Entry)), mode, nextOffset, default);
        }

        // READDIRPLUS hands the kernel a reference per entry: take it first, give it back if the entry did not fit.
        var inode = _inodes.Acquire(path, _mounts.Resolve(path), new NodeState(listed.Entry, listing.FetchedAt));
        if (writer.TryAdd(listed.Name, inode.NodeId, mode, nextOffset, EntryFor(inode)))
        {
            return true;
        }

        _inodes.Forget(inode.NodeId, 1);
        return false;
    }

    private async ValueTask<(DirectoryListing? Listing, Errno Error)> ListingOfAsync(Inode directory, CancellationToken cancellationToken)
    {
        if (_directoryCache.TryGetFresh(directory.VirtualPath) is { } cached)
        {
            return (cached, Errno.Ok);
        }

        try
        {
            var listing = await _listCalls.RunAsync(directory.VirtualPath, _ => LoadListingAsync(directory), cancellationToken);
            return (listing, Errno.Ok);
        }
        catch (Exception e)
        {
            return (null, Fail("readdir", directory.Mount, directory.RelativePath, e, cancellationToken));
        }
    }

    private async Task<DirectoryListing> LoadListingAsync(Inode directory)
    {
        var byName = new Dictionary<string, ListedEntry>(StringComparer.Ordinal);
        if (directory.Mount is { } mount)
        {
            await foreach (var entry in mount.Backend.ListAsync(directory.RelativePath, recursive: false, CancellationToken.None))
            {
                var name = entry.Name;
                if (name.Length > 0 && name is not "." and not ".." && !name.Contains('/'))
                {
                    byName[name] = new ListedEntry(name, entry);
                }
            }
        }

        foreach (var name in _mounts.VirtualChildren(directory.VirtualPath))
        {
            byName[name] = new ListedEntry(name, null); // a mount shadows the backend's own entry of that name
        }

        var entries = byName.Values.ToArray();
        Array.Sort(entries, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var listing = new DirectoryListing(entries, _time.GetTimestamp());
        _directoryCache.Put(directory.VirtualPath, listing);
        return listing;
    }

    private async ValueTask<(BackendEntry? Entry, Errno Error)> StatAsync(BackendMount mount, string relativePath, string operation, CancellationToken cancellationToken)
    {
        try
        {
            var entry = await _statCalls.RunAsync(
                mount.MountPath + "\0" + relativePath,
                _ => mount.Backend.StatAsync(relativePath, CancellationToken.None).AsTask(),
                cancellationToken);
            return (entry, Errno.Ok);
        }
        catch (Exception e)
        {
            return (null, Fail(operation, mount, relativePath, e, cancellationToken));
        }
    }

    /// <summary>Re-stats a backend node and stores the result; ENOENT when it is gone.</summary>
    private async ValueTask<Errno> RefreshAsync(Inode inode, string operation, CancellationToken cancellationToken)
    {
        var (entry, error) = await StatAsync(inode.Mount!, inode.RelativePath, operation, cancellationToken);
        if (error != Errno.Ok)
        {
            return error;
        }

        if (entry is null)
        {
            return Errno.ENOENT;
        }

        if (inode.State.Entry is { } known && (known.IsDirectory != entry.IsDirectory || (!known.IsDirectory && known.ETag != entry.ETag)))
        {
            // This inode is one version of the path (InodeTable.IdentityOf) and the path now holds another. ESTALE makes the
            // kernel look the name up again (LOOKUP_REVAL), which finds the new version's inode; the parent's listing
            // would still name the old version, so it goes too.
            _directoryCache.Remove(MountTable.ParentOf(inode.VirtualPath));
            return Errno.ESTALE;
        }

        inode.State = new NodeState(entry, _time.GetTimestamp());
        return Errno.Ok;
    }

    private Errno Fail(string operation, BackendMount? mount, string relativePath, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
        {
            return Errno.EINTR;
        }

        var errno = exception is BackendException backendException ? BackendErrors.ToErrno(backendException.Kind) : Errno.EIO;
        return Fail(operation, mount, relativePath, exception, errno);
    }

    private Errno Fail(string operation, BackendMount? mount, string relativePath, Exception exception, Errno errno)
    {
        Stats.CountError();
        // BackendException messages name backend and path and never carry credentials (IBackend contract);
        // other exceptions are reported by type only, since their text is not under our control.
        var reason = exception is BackendException backendException
            ? $"{backendException.Kind}: {backendException.Message}"
            : exception.GetType().Name;
        _logger.LogWarning(
            "{Operation} failed on backend {Backend} path '{Path}' → {Errno} ({Reason})",
            operation,
            mount?.Backend.Name ?? "-",
            relativePath,
            errno,
            reason);
        return errno;
    }

    private FuseResult<FuseEntry> Negative() =>
        _options.NegativeTtl > TimeSpan.Zero
            // Node id 0 with a non-zero entry timeout is FUSE's "cache this name as absent".
            ? new FuseEntry(0, 0, default, _options.NegativeTtl, TimeSpan.Zero)
            : Errno.ENOENT;

    private FuseEntry EntryFor(Inode inode) =>
        new(inode.NodeId, 0, AttributesOf(inode), _options.EntryTtl, _options.AttrTtl);

    private FileAttributes AttributesOf(Inode inode)
    {
        var entry = inode.State.Entry;
        var attributes = inode.IsVirtualDirectory || entry is null
            ? FileAttributes.Directory(inode.NodeId, _started, DirectoryPermissions)
            : entry.IsDirectory
                ? FileAttributes.Directory(inode.NodeId, entry.LastModified, DirectoryPermissions)
                : FileAttributes.File(inode.NodeId, (ulong)Math.Max(entry.Size, 0), entry.LastModified, FilePermissions);
        return attributes with { Uid = _options.Uid, Gid = _options.Gid };
    }

    private static bool HasSourceAttributes(Inode inode, out BackendEntry entry)
    {
        entry = inode.State.Entry!;
        return !inode.IsVirtualDirectory && inode.Mount is not null && entry is { IsDirectory: false };
    }

    /// <summary>
    /// Asks the kernel to drop an inode's cached attributes and pages, off the request thread: the notify
    /// write must not wait on anything the current request holds.
    /// </summary>
    private void InvalidateInodeLater(ulong nodeId)
    {
        if (_connection is { } connection)
        {
            ThreadPool.QueueUserWorkItem(static s => s.connection.InvalidateInode(s.nodeId), (connection, nodeId), preferLocal: false);
        }
    }

    /// <summary>
    /// Hands an access event to the recorder, which never blocks (a full queue drops and counts). The caller is
    /// resolved to a user or pod off this path, from the pid and uid.
    /// </summary>
    private void RecordAccess(AccessOp op, Inode inode, FuseRequestContext caller, long bytesRead, long started, bool cacheHit = false)
    {
        if (!_recording || inode.Mount is not { } mount)
        {
            return;
        }

        _options.AccessRecorder.Record(new AccessEvent
        {
            Timestamp = _time.GetUtcNow(),
            Node = _options.NodeName,
            Backend = mount.Backend.Name,
            Path = inode.RelativePath,
            Op = op,
            BytesRead = bytesRead,
            CacheHit = cacheHit,
            LatencyMs = started == 0 ? 0 : System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            Count = 1,
            CallerPid = (int)caller.Pid,
            CallerUid = caller.Uid,
        });
    }
}
