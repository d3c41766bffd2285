namespace WarpDrive.Fuse;

/// <summary>
/// The one interface between the raw FUSE protocol (this project) and a filesystem. The protocol layer
/// decodes kernel requests, calls one method per opcode and encodes the answer; it knows nothing of
/// backends or caches. A filesystem knows nothing of /dev/fuse.
/// </summary>
/// <remarks>
/// <para><b>Threading.</b> Methods are called concurrently from several worker threads, each of which read
/// the request from the device. A method that can answer at once should return a completed
/// <see cref="ValueTask"/>: the answer is then written on the same thread with no allocation. One that must
/// wait (network, disk) returns a pending task; the worker goes back to the device and the continuation
/// writes the reply, so a slow backend never stalls other requests.</para>
/// <para><b>Node ids.</b> The filesystem chooses node ids (1 is the root). Every successful
/// <see cref="LookupAsync"/> and every READDIRPLUS entry with a non-zero node id adds one kernel reference;
/// <see cref="Forget"/> removes references.</para>
/// <para><b>Cancellation.</b> The token fires when the kernel sends INTERRUPT for the request (the caller
/// got a signal) or the session ends. Answer <see cref="Errno.EINTR"/> or finish normally.</para>
/// <para><b>Writes.</b> The protocol layer answers every modifying opcode with EROFS itself.</para>
/// </remarks>
public interface IFuseFileSystem
{
    /// <summary>Called once, after INIT has been negotiated and before any other request.</summary>
    void Initialize(IFuseConnection connection);

    ValueTask<FuseResult<FuseEntry>> LookupAsync(ulong parent, string name, FuseRequestContext context, CancellationToken cancellationToken);

    /// <summary>The kernel dropped <paramref name="lookups"/> references to <paramref name="nodeId"/>. No reply.</summary>
    void Forget(ulong nodeId, ulong lookups);

    /// <param name="handle">The open handle when the caller did fstat on an open file, else null.</param>
    ValueTask<FuseResult<FuseAttributesReply>> GetAttributesAsync(ulong nodeId, ulong? handle, CancellationToken cancellationToken);

    /// <param name="flags">The open(2) flags (O_RDONLY etc.); write modes never reach here.</param>
    ValueTask<FuseResult<FuseOpenReply>> OpenAsync(ulong nodeId, int flags, FuseRequestContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Reads into <paramref name="destination"/> (at most the kernel's request size). Returns the byte count;
    /// short only at end of file. The buffer belongs to the protocol layer and is valid until the task ends.
    /// </summary>
    ValueTask<FuseResult<int>> ReadAsync(ulong nodeId, ulong handle, long offset, Memory<byte> destination, CancellationToken cancellationToken);

    /// <summary>The last file descriptor for an open handle was closed. No errors are possible.</summary>
    void Release(ulong nodeId, ulong handle);

    ValueTask<FuseResult<FuseOpenReply>> OpenDirectoryAsync(ulong nodeId, FuseRequestContext context, CancellationToken cancellationToken);

    /// <summary>
    /// Appends entries that follow <paramref name="offset"/> (0 = from the start; otherwise a value this
    /// filesystem gave as an entry's next offset) until <paramref name="writer"/> is full or the listing ends.
    /// </summary>
    ValueTask<Errno> ReadDirectoryAsync(ulong nodeId, ulong handle, long offset, DirectoryEntryWriter writer, CancellationToken cancellationToken);

    void ReleaseDirectory(ulong nodeId, ulong handle);

    FuseResult<FuseStatFs> StatFs(ulong nodeId);

    /// <summary>access(2) for a read-only tree: W_OK is refused with EROFS by the protocol layer first.</summary>
    Errno Access(ulong nodeId, int mask, FuseRequestContext context);

    /// <summary>
    /// Copies the value of extended attribute <paramref name="name"/> into <paramref name="destination"/>, or,
    /// when the destination is empty, only returns its size. ENODATA when absent, ERANGE when too small.
    /// </summary>
    FuseResult<int> GetExtendedAttribute(ulong nodeId, string name, Span<byte> destination);

    /// <summary>Like <see cref="GetExtendedAttribute"/> for the NUL-separated list of names.</summary>
    FuseResult<int> ListExtendedAttributes(ulong nodeId, Span<byte> destination);

    /// <summary>lseek(2) with SEEK_DATA (3) or SEEK_HOLE (4); others are handled by the kernel.</summary>
    ValueTask<FuseResult<long>> SeekAsync(ulong nodeId, ulong handle, long offset, int whence, CancellationToken cancellationToken);

    /// <summary>The session is ending (DESTROY received or the mount went away).</summary>
    void Destroy();
}

/// <summary>What a filesystem may ask of the kernel outside of a request: invalidations and passthrough.</summary>
public interface IFuseConnection
{
    /// <summary>Protocol minor version agreed with the kernel.</summary>
    uint ProtocolMinor { get; }

    /// <summary>True when the kernel accepted FUSE_PASSTHROUGH and we may open backing files.</summary>
    bool PassthroughAvailable { get; }

    /// <summary>
    /// Drops the kernel's cached attributes and page cache of an inode (FUSE_NOTIFY_INVAL_INODE).
    /// <paramref name="length"/> 0 means to the end of the file. ENOENT when the kernel no longer knows the inode.
    /// Never call it from inside a request handler for the same inode: the kernel may hold page locks that a
    /// pending READ of ours must release first, and the notification would wait for them forever.
    /// </summary>
    Errno InvalidateInode(ulong nodeId, long offset = 0, long length = 0);

    /// <summary>Drops a cached name (FUSE_NOTIFY_INVAL_ENTRY).</summary>
    Errno InvalidateEntry(ulong parentNodeId, string name);

    /// <summary>Registers an open file for passthrough reads (FUSE_DEV_IOC_BACKING_OPEN). A positive id, or a negated errno.</summary>
    int OpenBacking(Microsoft.Win32.SafeHandles.SafeFileHandle file);

    /// <summary>Releases a backing id once no open file uses it.</summary>
    void CloseBacking(int backingId);
}
