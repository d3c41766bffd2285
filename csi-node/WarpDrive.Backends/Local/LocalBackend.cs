using System.IO.Enumeration;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace WarpDrive.Backends.Local;

/// <summary>
/// Serves a directory of the node's filesystem: a local disk, or an NFS/SMB/Lustre kernel mount.
/// </summary>
/// <remarks>
/// Containment: a path is checked lexically (no "..", no absolute paths), then its real path (all symlinks
/// resolved) must stay under the root, and an opened handle is checked once more through /proc/self/fd so a
/// symlink swapped in between cannot redirect the read. Symlinks are followed when their target stays inside
/// the root; symlinks that leave the root or dangle are treated as absent. Sockets, FIFOs and devices are
/// never served. Reads run synchronously on the caller's thread: a local pread is cheaper than a thread-pool hop.
/// </remarks>
public sealed class LocalBackend : IBackend, IInPlaceSource
{
    public const int DefaultHandleCacheCapacity = 256;

    private static readonly EnumerationOptions ListOptions = new()
    {
        AttributesToSkip = 0,
        IgnoreInaccessible = false,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
    };

    private readonly string _root;
    private readonly string _rootWithSlash;
    private readonly OpenHandleCache _handles;

    /// <param name="inPlace">
    /// Whether the node cache should serve this directory's files in place instead of copying them
    /// (<see cref="InPlaceMode"/>; the agent config's <c>serve_in_place</c>, default auto). Constructed directly the
    /// default is <see cref="InPlaceMode.Never"/>: the backend is then an ordinary, cached source.
    /// </param>
    public LocalBackend(string name, string root, int handleCacheCapacity = DefaultHandleCacheCapacity, InPlaceMode inPlace = InPlaceMode.Never)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(root);
        Name = name;
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        // The root itself may be reached through symlinks (/data -> /mnt/nfs/data); containment is checked
        // against its real path. A root that does not exist yet stays as given and every lookup misses.
        _root = UnixNative.RealPath(full, out _) ?? full;
        _rootWithSlash = _root.EndsWith('/') ? _root : _root + "/";
        _handles = new OpenHandleCache(handleCacheCapacity);
        FileSystemType = SourceFileSystem.TypeOf(_root);
        ServesInPlace = inPlace == InPlaceMode.Always || (inPlace == InPlaceMode.Auto && SourceFileSystem.IsLocal(FileSystemType));
    }

    /// <summary>
    /// True when the cache should read this directory's files in place (FUSE passthrough to the source file):
    /// <c>serve_in_place: true</c>, or auto with the root on a local-disk file system.
    /// </summary>
    public bool ServesInPlace { get; }

    /// <summary>statfs f_type of the root at start (null when statfs failed); see <see cref="SourceFileSystem"/>.</summary>
    public long? FileSystemType { get; }

    public string Name { get; }

    public string Type => "local";

    /// <summary>The real path of the served directory.</summary>
    public string Root => _root;

    /// <summary>How many read handles are open right now (bounded by the cache capacity).</summary>
    public int OpenHandleCount => _handles.Count;

    public async IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        prefix = prefix.TrimEnd('/');
        var realDirectory = ResolveInside(prefix);
        if (realDirectory is null || Stat(realDirectory, followSymlinks: true) is not { Kind: UnixFileKind.Directory } top)
        {
            yield break;
        }
        // Symlinked directories are descended like `find -L`, except into one of their own ancestors (a loop).
        var pending = new Stack<(string Logical, string Real, DirectoryChain Ancestors)>();
        pending.Push((prefix, realDirectory, new DirectoryChain(top.Device, top.Inode, null)));
        while (pending.TryPop(out var directory))
        {
            foreach (var (childName, isSymlink) in ReadDirectory(directory.Real, directory.Logical))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var childReal = directory.Real + "/" + childName;
                if (isSymlink)
                {
                    childReal = UnixNative.RealPath(childReal, out _)!;
                    if (childReal is null || !IsInsideRoot(childReal))
                    {
                        continue; // dangling, or leaves the root
                    }
                }
                // Without following: a plain entry that became a symlink since the listing is skipped, not followed.
                if (Stat(childReal, followSymlinks: false) is not { } status || status.Kind == UnixFileKind.Other)
                {
                    continue; // vanished, or a socket/FIFO/device
                }
                var childLogical = BackendPath.Join(directory.Logical, childName);
                if (status.Kind == UnixFileKind.Directory && recursive)
                {
                    if (!directory.Ancestors.Contains(status.Device, status.Inode))
                    {
                        pending.Push((childLogical, childReal, new DirectoryChain(status.Device, status.Inode, directory.Ancestors)));
                    }
                    continue;
                }
                yield return ToEntry(childLogical, status);
            }
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    public ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<BackendEntry?>(cancellationToken);
        }
        try
        {
            var real = ResolveInside(path);
            var status = real is null ? null : Stat(real, followSymlinks: true);
            return new(status is { Kind: not UnixFileKind.Other } s ? ToEntry(path.TrimEnd('/'), s) : null);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<BackendEntry?>(Map(e, "stat", path));
        }
    }

    public ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }
        try
        {
            return new(ReadAt(path, offset, buffer.Span));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<int>(Map(e, "read", path));
        }
    }

    /// <summary>A local file's version is known before and after the read without asking anyone: no extra stat call.</summary>
    public ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<int>(cancellationToken);
        }
        try
        {
            return new(ReadAt(path, offset, buffer.Span, expectedETag));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<int>(Map(e, "read", path));
        }
    }

    /// <summary>The synchronous read behind <see cref="ReadAtAsync"/>: fills <paramref name="buffer"/> unless the file ends first.</summary>
    public int ReadAt(string path, long offset, Span<byte> buffer) => ReadAt(path, offset, buffer, expectedETag: "");

    private int ReadAt(string path, long offset, Span<byte> buffer, string expectedETag)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        var full = LexicalFullPath(path) ?? throw NotFound(path);
        var error = UnixNative.TryStat(full, followSymlinks: true, out var status);
        if (error != 0)
        {
            _handles.Invalidate(path);
            throw FromErrno(error, "read", path);
        }
        if (status.Kind != UnixFileKind.File)
        {
            throw status.Kind == UnixFileKind.Directory
                ? new BackendException(BackendErrorKind.Other, Name, $"read '{path}': is a directory")
                : NotFound(path);
        }
        if (expectedETag.Length > 0 && status.ETag != expectedETag)
        {
            throw Changed(path);
        }
        var handle = _handles.TryRent(path, status);
        if (handle is null)
        {
            var opened = OpenContained(full, path);
            if (UnixNative.TryStat(opened, out var identity) is var fstatError && fstatError != 0)
            {
                opened.Dispose();
                throw FromErrno(fstatError, "read", path);
            }
            handle = _handles.AddAndRent(path, opened, identity);
        }
        try
        {
            var total = 0;
            while (total < buffer.Length)
            {
                var read = RandomAccess.Read(handle, buffer[total..], offset + total);
                if (read == 0)
                {
                    break;
                }
                total += read;
            }
            // Rewritten in place while we read (same inode, new mtime or size): the bytes may mix two versions.
            if (expectedETag.Length > 0 && (UnixNative.TryStat(handle, out var after) != 0 || after.ETag != expectedETag))
            {
                throw Changed(path);
            }
            return total;
        }
        finally
        {
            OpenHandleCache.Return(handle);
        }
    }

    public SafeFileHandle? TryOpenVersion(string path, string expectedETag)
    {
        var full = LexicalFullPath(path);
        try
        {
            // Stat first: opening a FIFO would block. The version is then checked on the opened descriptor itself.
            if (full is null || Stat(full, followSymlinks: true) is not { Kind: UnixFileKind.File })
            {
                return null;
            }

            var handle = OpenContained(full, path);
            if (UnixNative.TryStat(handle, out var status) != 0 || status.Kind != UnixFileKind.File || (expectedETag.Length > 0 && status.ETag != expectedETag))
            {
                handle.Dispose();
                return null;
            }

            return handle;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BackendException)
        {
            return null;
        }
    }

    public ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<Stream>(cancellationToken);
        }
        try
        {
            var full = LexicalFullPath(path) ?? throw NotFound(path);
            if (Stat(full, followSymlinks: true) is not { Kind: UnixFileKind.File })
            {
                throw NotFound(path);
            }
            return new(new FileStream(OpenContained(full, path), FileAccess.Read, bufferSize: 0));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<Stream>(Map(e, "open", path));
        }
    }

    public async ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        string? temporary = null;
        try
        {
            if (path.Length == 0 || LexicalFullPath(path) is null)
            {
                throw NotFound(path);
            }
            var parent = PrepareParentDirectory(path);
            var target = parent + "/" + path[(path.LastIndexOf('/') + 1)..];
            temporary = $"{parent}/.warpdrive-{Guid.NewGuid():N}.tmp";
            var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                await content.CopyToAsync(file, 1 << 20, cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true); // durable before it becomes visible under its name
            }
            File.Move(temporary, target, overwrite: true);
            temporary = null;
            _handles.Invalidate(path);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw Map(e, "write", path);
        }
        finally
        {
            if (temporary is not null)
            {
                TryDelete(temporary);
            }
        }
    }

    public ValueTask DeleteAsync(string path, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled(cancellationToken);
        }
        try
        {
            if (path.Length == 0 || LexicalFullPath(path) is null)
            {
                throw NotFound(path);
            }
            var parent = ResolveInside(BackendPath.Parent(path));
            if (parent is not null)
            {
                var target = parent + "/" + path[(path.LastIndexOf('/') + 1)..];
                if (Stat(target, followSymlinks: false) is { Kind: UnixFileKind.Directory })
                {
                    throw new BackendException(BackendErrorKind.Other, Name, $"delete '{path}': is a directory");
                }
                File.Delete(target); // unlinks a symlink itself, never its target
            }
            _handles.Invalidate(path);
            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(Map(e, "delete", path));
        }
    }

    public ValueTask DisposeAsync()
    {
        _handles.Dispose();
        return ValueTask.CompletedTask;
    }

    private string? LexicalFullPath(string path)
    {
        path = path.TrimEnd('/');
        if (!BackendPath.IsWellFormed(path))
        {
            return null;
        }
        return path.Length == 0 ? _root : _rootWithSlash + path;
    }

    /// <summary>The real path of <paramref name="path"/> if it exists and stays inside the root; otherwise null.</summary>
    private string? ResolveInside(string path)
    {
        var full = LexicalFullPath(path);
        if (full is null)
        {
            return null;
        }
        var real = UnixNative.RealPath(full, out var error);
        if (real is null)
        {
            return IsMissing(error) ? null : throw FromErrno(error, "resolve", path);
        }
        return IsInsideRoot(real) ? real : null;
    }

    private bool IsInsideRoot(string realPath) =>
        realPath == _root || realPath.StartsWith(_rootWithSlash, StringComparison.Ordinal);

    private UnixFileStatus? Stat(string realPath, bool followSymlinks)
    {
        var error = UnixNative.TryStat(realPath, followSymlinks, out var status);
        if (error == 0)
        {
            return status;
        }
        return IsMissing(error) ? null : throw FromErrno(error, "stat", realPath[Math.Min(_rootWithSlash.Length, realPath.Length)..]);
    }

    /// <summary>Opens for reading and proves, from the open descriptor itself, that the file lies inside the root.</summary>
    private SafeFileHandle OpenContained(string fullPath, string path)
    {
        var handle = File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var opened = new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget;
        if (opened is null || !IsInsideRoot(opened))
        {
            handle.Dispose();
            throw NotFound(path);
        }
        return handle;
    }

    /// <summary>Creates the parent directories of <paramref name="path"/> without following a symlink out of the root.</summary>
    private string PrepareParentDirectory(string path)
    {
        var parent = BackendPath.Parent(path);
        var existing = parent;
        while (true)
        {
            var full = LexicalFullPath(existing)!;
            var real = UnixNative.RealPath(full, out var error);
            if (real is not null)
            {
                if (!IsInsideRoot(real))
                {
                    throw NotFound(path);
                }
                break;
            }
            if (!IsMissing(error) || existing.Length == 0)
            {
                throw FromErrno(error, "write", path);
            }
            existing = BackendPath.Parent(existing);
        }
        Directory.CreateDirectory(LexicalFullPath(parent)!);
        return ResolveInside(parent) ?? throw NotFound(path);
    }

    private List<(string Name, bool IsSymlink)> ReadDirectory(string realDirectory, string logical)
    {
        try
        {
            return [.. new FileSystemEnumerable<(string, bool)>(
                realDirectory,
                (ref FileSystemEntry entry) => (entry.FileName.ToString(), (entry.Attributes & FileAttributes.ReparsePoint) != 0),
                ListOptions)];
        }
        catch (DirectoryNotFoundException)
        {
            return []; // removed while we walked
        }
        catch (Exception e)
        {
            throw Map(e, "list", logical);
        }
    }

    /// <summary>The directories from the listing's start down to one directory, to detect symlink loops.</summary>
    private sealed record DirectoryChain(ulong Device, ulong Inode, DirectoryChain? Parent)
    {
        public bool Contains(ulong device, ulong inode)
        {
            for (var link = this; link is not null; link = link.Parent)
            {
                if (link.Device == device && link.Inode == inode)
                {
                    return true;
                }
            }
            return false;
        }
    }

    private static BackendEntry ToEntry(string path, in UnixFileStatus status) =>
        new(path, status.Kind == UnixFileKind.Directory, status.Kind == UnixFileKind.Directory ? 0 : status.Size, status.LastModified, status.ETag);

    private static bool IsMissing(int errno) =>
        errno is UnixNative.ENOENT or UnixNative.ENOTDIR or UnixNative.ELOOP or UnixNative.ENAMETOOLONG;

    private BackendException NotFound(string path) => new(BackendErrorKind.NotFound, Name, $"'{path}' not found");

    private BackendException Changed(string path) => new(BackendErrorKind.Changed, Name, $"'{path}' changed while it was read");

    private BackendException FromErrno(int errno, string operation, string path)
    {
        var kind = errno switch
        {
            _ when IsMissing(errno) => BackendErrorKind.NotFound,
            UnixNative.EACCES or UnixNative.EPERM => BackendErrorKind.AccessDenied,
            UnixNative.ETIMEDOUT => BackendErrorKind.Timeout,
            UnixNative.ESTALE or UnixNative.ENOTCONN or UnixNative.EHOSTDOWN or UnixNative.EIO => BackendErrorKind.Unavailable,
            _ => BackendErrorKind.Other,
        };
        return new BackendException(kind, Name, $"{operation} '{path}' failed (errno {errno})");
    }

    private BackendException Map(Exception e, string operation, string path)
    {
        var kind = e switch
        {
            BackendException b => b.Kind,
            FileNotFoundException or DirectoryNotFoundException => BackendErrorKind.NotFound,
            UnauthorizedAccessException => BackendErrorKind.AccessDenied,
            IOException { HResult: UnixNative.ETIMEDOUT } => BackendErrorKind.Timeout,
            IOException { HResult: UnixNative.ESTALE or UnixNative.ENOTCONN or UnixNative.EHOSTDOWN or UnixNative.EIO } => BackendErrorKind.Unavailable,
            _ => BackendErrorKind.Other,
        };
        return e as BackendException ?? new BackendException(kind, Name, $"{operation} '{path}' failed: {e.Message}", e);
    }

    private static void TryDelete(string file)
    {
        try
        {
            File.Delete(file);
        }
        catch (IOException)
        {
            // best effort: a leftover temp file is harmless and named so it is recognisable
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
