using System.Collections.Concurrent;

namespace WarpDrive.Auth;

/// <summary>One credential refresh: when, for which backend, through which provider, and how it ended. Never a token.</summary>
public sealed record AuthAuditEntry(DateTimeOffset Time, string Backend, string Provider, bool Success, string? Error);

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
