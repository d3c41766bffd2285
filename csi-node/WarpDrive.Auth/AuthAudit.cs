using System.Collections.Concurrent;

namespace WarpDrive.Auth;

/// <summary>
/// One credential refresh, or one read refused to a pod's identity: when, for which backend, through which provider,
/// how it ended, and for whom (<paramref name="Principal"/>: the pod and its service account; null for the node's own
/// identity). Never a token.
/// </summary>
public sealed record AuthAuditEntry(DateTimeOffset Time, string Backend, string Provider, bool Success, string? Error, string? Principal = null);

/// <summary>
/// The last <see cref="Capacity"/> credential refreshes (a ring buffer) and running totals per provider and status,
/// from which the metrics endpoint computes <c>warpdrive_auth_refresh_total{provider,status}</c>.
/// </summary>
/// <remarks>
/// Refreshes are rare (minutes apart per backend), so a plain lock is fine; it is never held across I/O.
/// Totals count every refresh since start, including those the ring has since overwritten.
/// </remarks>
public sealed class AuthAudit
{
    public const int DefaultCapacity = 10_000;

    private readonly object _sync = new();
    private readonly AuthAuditEntry[] _ring;
    private readonly ConcurrentDictionary<(string Provider, string Status), long> _totals = new();
    private readonly ConcurrentDictionary<string, long> _refusals = new(StringComparer.Ordinal);
    private long _written;

    public AuthAudit(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _ring = new AuthAuditEntry[capacity];
    }

    /// <summary>The audit of this process, used when <see cref="FederationOptions.Audit"/> is not set (like a default metrics registry).</summary>
    public static AuthAudit Shared { get; } = new();

    public int Capacity => _ring.Length;

    public void Record(AuthAuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_sync)
        {
            _ring[_written % _ring.Length] = entry;
            _written++;
        }
        _totals.AddOrUpdate((entry.Provider, entry.Success ? "success" : "failure"), 1, static (_, n) => n + 1);
    }

    /// <summary>
    /// A read refused to a pod's identity (the storage said no to its credentials, so the node cache must not serve it
    /// either). Kept in the same ring as refreshes, counted apart: it is not a failed refresh.
    /// </summary>
    public void RecordRefusal(AuthAuditEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_sync)
        {
            _ring[_written % _ring.Length] = entry;
            _written++;
        }
        _refusals.AddOrUpdate(entry.Backend, 1, static (_, n) => n + 1);
    }

    /// <summary>Reads refused to pod identities since start, per backend.</summary>
    public IReadOnlyDictionary<string, long> RefusalTotals() => new Dictionary<string, long>(_refusals);

    /// <summary>The retained entries, oldest first.</summary>
    public IReadOnlyList<AuthAuditEntry> Snapshot()
    {
        lock (_sync)
        {
            var count = (int)Math.Min(_written, _ring.Length);
            var result = new AuthAuditEntry[count];
            var start = _written - count;
            for (var i = 0; i < count; i++)
            {
                result[i] = _ring[(start + i) % _ring.Length];
            }
            return result;
        }
    }

    /// <summary>Refreshes since start per (provider, status), status being "success" or "failure".</summary>
    public IReadOnlyDictionary<(string Provider, string Status), long> RefreshTotals() =>
        new Dictionary<(string Provider, string Status), long>(_totals);
}
