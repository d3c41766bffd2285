using WarpDrive.Backends;

namespace WarpDrive.FileSystem;

/// <summary>
/// The kernel's rule for one inode (fs/fuse/iomode.c): while any open of it is passthrough, every new open must
/// be passthrough on the SAME backing file; while any open uses the page cache, none may be passthrough. Breaking
/// either makes open(2) fail with EIO. This tracks, per inode, which mode its open files are in, and shares one
/// refcounted backing registration between all passthrough opens.
/// </summary>
/// <remarks>
/// Counts change when we answer OPEN and receive RELEASE. The kernel drops its own count before it sends RELEASE,
/// so ours is never lower than the kernel's: at worst we choose the page cache a moment longer than needed.
/// The lock guards counters only; no I/O runs under it.
/// </remarks>
internal sealed class OpenModes
{
    private readonly Lock _gate = new();
    private int _cachedOpens;
    private PassthroughBacking? _backing;
    private string? _backingETag;
    private int _backingOpens;

    /// <summary>True while some open of this inode uses the page cache (passthrough must not be tried).</summary>
    public bool HasCachedOpens
    {
        get
        {
            lock (_gate)
            {
                return _cachedOpens > 0;
            }
        }
    }

    /// <summary>
    /// If the inode is open in passthrough mode, takes a share of its backing (whatever version it serves: the kernel
    /// allows no other until the last passthrough open closes) and returns it.
    /// </summary>
    public PassthroughBacking? TryShareBacking(out string? etag)
    {
        lock (_gate)
        {
            etag = _backingETag;
            if (_backing is null)
            {
                return null;
            }

            _backingOpens++;
            return _backing;
        }
    }

    /// <summary>
    /// Installs <paramref name="candidate"/> as the inode's backing if no open conflicts, and returns the backing this
    /// open uses: the candidate, one installed meanwhile by a racing open (the candidate is then disposed), or null
    /// when a page-cache open appeared meanwhile (the candidate is disposed and the caller opens in cached mode).
    /// </summary>
    public PassthroughBacking? Install(PassthroughBacking candidate, BackendEntry version)
    {
        PassthroughBacking? chosen;
        lock (_gate)
        {
            if (_backing is not null)
            {
                _backingOpens++;
                chosen = _backing;
            }
            else if (_cachedOpens > 0)
            {
                chosen = null;
            }
            else
            {
                _backing = candidate;
                _backingETag = version.ETag;
                _backingOpens = 1;
                return candidate;
            }
        }

        candidate.Dispose();
        return chosen;
    }

    public void AddCachedOpen()
    {
        lock (_gate)
        {
            _cachedOpens++;
        }
    }

    public void ReleaseCachedOpen()
    {
        lock (_gate)
        {
            _cachedOpens--;
        }
    }

    /// <summary>Drops one passthrough open; the last one closes the backing registration and unpins the cache.</summary>
    public void ReleaseBacking()
    {
        PassthroughBacking? closing = null;
        lock (_gate)
        {
            if (--_backingOpens == 0)
            {
                closing = _backing;
                _backing = null;
                _backingETag = null;
            }
        }

        closing?.Dispose();
    }

    /// <summary>Puts back a backing registration that a previous process made, shared by <paramref name="opens"/> open files.</summary>
    public void RestoreBacking(PassthroughBacking backing, string? etag, int opens)
    {
        lock (_gate)
        {
            _backing = backing;
            _backingETag = etag;
            _backingOpens = opens;
        }
    }
}
