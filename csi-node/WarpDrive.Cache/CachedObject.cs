using Microsoft.Win32.SafeHandles;

namespace WarpDrive.Cache;

/// <summary>
/// One cached version (backend, path, ETag) of an object: its block table and its sparse data file.
/// </summary>
/// <remarks>
/// The id is random per incarnation, so deleting an old incarnation (files, records) can never touch a newer one of
/// the same version. Block slots are read without a lock (Volatile); installing and removing a block, the
/// deleted flag, the byte count and the file handle are guarded by <see cref="_gate"/>, which is never held across
/// block I/O (only across opening/creating the file, once per incarnation). The handle stays open while anyone
/// holds a reference (<see cref="Retain"/>): readers for their lifetime, fetches and eviction for one operation.
/// </remarks>
internal sealed class CachedObject
{
    private readonly Lock _gate = new();
    private readonly BlockEntry?[] _blocks;
    private SafeFileHandle? _handle;
    private int _references;
    private bool _fileExists;
    private bool _deleted;
    private long _presentBytes;
    private int _presentBlocks;
    private int _pins;
    private int _accessDirty;
    private long _lastAccessUnixMs;

    public CachedObject(Guid id, string backend, string path, string etag, long size, int blockSize, string filePath, bool fileExists)
    {
        Id = id;
        Backend = backend;
        Path = path;
        ETag = etag;
        Size = size;
        BlockSize = blockSize;
        FilePath = filePath;
        _fileExists = fileExists;
        BlockCount = checked((int)((size + blockSize - 1) / blockSize));
        _blocks = new BlockEntry?[BlockCount];
    }

    public Guid Id { get; }

    public string Backend { get; }

    public string Path { get; }

    public string ETag { get; }

    public long Size { get; }

    public int BlockSize { get; }

    public int BlockCount { get; }

    public string FilePath { get; }

    public bool PersistentPin { get; set; }

    public bool IsDeleted => Volatile.Read(ref _deleted);

    public bool IsPinned => PersistentPin || Volatile.Read(ref _pins) > 0;

    public long PresentBytes => Volatile.Read(ref _presentBytes);

    public int PresentBlocks => Volatile.Read(ref _presentBlocks);

    public int References => Volatile.Read(ref _references);

    public long LastAccessUnixMs => Volatile.Read(ref _lastAccessUnixMs);

    public long BlockOffset(long index) => index * BlockSize;

    public int BlockLength(long index) => (int)Math.Min(BlockSize, Size - (index * BlockSize));

    public BlockEntry? GetBlock(long index) => Volatile.Read(ref _blocks[index]);

    public void Pin() => Interlocked.Increment(ref _pins);

    public void Unpin() => Interlocked.Decrement(ref _pins);

    public void Touch(long unixMs)
    {
        Volatile.Write(ref _lastAccessUnixMs, unixMs);
        Volatile.Write(ref _accessDirty, 1);
    }

    public void SetLastAccess(long unixMs) => Volatile.Write(ref _lastAccessUnixMs, unixMs);

    public bool TakeAccessDirty() => Interlocked.Exchange(ref _accessDirty, 0) == 1;

    public ObjectRecord ToRecord() => new(Id, Backend, Path, ETag, Size, BlockSize, LastAccessUnixMs, PersistentPin);

    /// <summary>Loads a block known from the metadata store (startup only, before the object is shared).</summary>
    public void LoadBlock(long index, BlockEntry entry)
    {
        _blocks[index] = entry;
        _presentBytes += entry.Length;
        _presentBlocks++;
    }

    public void Retain()
    {
        lock (_gate)
        {
            _references++;
        }
    }

    public void Release()
    {
        lock (_gate)
        {
            if (--_references == 0 && _handle is not null)
            {
                _handle.Dispose();
                _handle = null;
            }
        }
    }

    /// <summary>
    /// The data file's handle, for a caller holding a reference. With <paramref name="create"/> the file is created
    /// (sparse, full size) if missing, after <paramref name="beforeCreate"/> has recorded the object, so a crash
    /// leaves at worst a record without a file, which startup reclaims. Null when the file is absent and not to be
    /// created, or the object was deleted before its file existed.
    /// </summary>
    public SafeFileHandle? GetHandle(bool create, Action<CachedObject>? beforeCreate = null)
    {
        lock (_gate)
        {
            if (_handle is not null)
            {
                return _handle;
            }

            if (!_fileExists)
            {
                if (!create || _deleted)
                {
                    return null;
                }

                beforeCreate?.Invoke(this);
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(FilePath)!);
                _handle = File.OpenHandle(FilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                RandomAccess.SetLength(_handle, Size);
                _fileExists = true;
                return _handle;
            }

            if (_deleted)
            {
                return null;
            }

            _handle = File.OpenHandle(FilePath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            return _handle;
        }
    }

    /// <summary>Publishes a fetched block; false when the object was deleted meanwhile.</summary>
    public bool TryInstall(long index, BlockEntry entry)
    {
        lock (_gate)
        {
            if (_deleted)
            {
                return false;
            }

            var previous = _blocks[index];
            if (previous is not null)
            {
                _presentBytes -= previous.Length;
                _presentBlocks--;
            }

            Volatile.Write(ref _blocks[index], entry);
            _presentBytes += entry.Length;
            _presentBlocks++;
            return true;
        }
    }

    /// <summary>Removes a retired block; false when it was already replaced or the object deleted (bytes already accounted).</summary>
    public bool TryUninstall(long index, BlockEntry entry)
    {
        lock (_gate)
        {
            if (_deleted || !ReferenceEquals(_blocks[index], entry))
            {
                return false;
            }

            Volatile.Write(ref _blocks[index], null);
            _presentBytes -= entry.Length;
            _presentBlocks--;
            return true;
        }
    }

    /// <summary>Marks the object deleted; returns the bytes it held the first time, 0 afterwards.</summary>
    public long MarkDeleted()
    {
        lock (_gate)
        {
            if (_deleted)
            {
                return 0;
            }

            _deleted = true;
            return _presentBytes;
        }
    }

    /// <summary>Deletes the object if nobody uses it and it holds no block (the eviction sweep).</summary>
    public bool TryMarkDeletedIfUnused()
    {
        lock (_gate)
        {
            if (_deleted || _references > 0 || _presentBlocks > 0 || IsPinned)
            {
                return false;
            }

            _deleted = true;
            return true;
        }
    }

    public bool FileExists
    {
        get
        {
            lock (_gate)
            {
                return _fileExists;
            }
        }
    }

    /// <summary>Closes the handle regardless of references (cache disposal).</summary>
    public void CloseHandle()
    {
        lock (_gate)
        {
            _handle?.Dispose();
            _handle = null;
        }
    }
}
