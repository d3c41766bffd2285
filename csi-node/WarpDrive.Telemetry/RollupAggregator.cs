namespace WarpDrive.Telemetry;

/// <summary>
/// Sums events per minute and per (caller, backend, path, op, cache hit) into one event with Count &gt; 1. Used by
/// the pump only (one thread), so it has no locking. A minute is emitted once the clock has left it.
/// </summary>
internal sealed class RollupAggregator
{
    private readonly Dictionary<Key, Sum> _buckets = [];

    public int Pending => _buckets.Count;

    public void Add(in AccessEvent e)
    {
        var minute = new DateTimeOffset(e.Timestamp.UtcTicks - (e.Timestamp.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var key = new Key(minute, e.Node, e.User, e.Namespace, e.Pod, e.ServiceAccount, e.Backend, e.Path, e.Op, e.CacheHit);
        var count = Math.Max(1, e.Count);
        if (_buckets.TryGetValue(key, out var sum))
        {
            sum.Count += count;
            sum.Bytes += e.BytesRead;
            sum.LatencyMs += e.LatencyMs * count;
        }
        else
        {
            _buckets[key] = new Sum { Count = count, Bytes = e.BytesRead, LatencyMs = e.LatencyMs * count };
        }
    }

    /// <summary>Removes and returns the summaries of minutes before <paramref name="now"/>'s minute (all of them when null).</summary>
    public List<AccessEvent> Drain(DateTimeOffset? now)
    {
        var cutoff = now is { } n ? n.UtcTicks - (n.UtcTicks % TimeSpan.TicksPerMinute) : long.MaxValue;
        var done = new List<AccessEvent>();
        foreach (var (key, sum) in _buckets)
        {
            if (key.Minute.UtcTicks >= cutoff)
            {
                continue;
            }

            done.Add(new AccessEvent
            {
                Timestamp = key.Minute,
                Node = key.Node,
                User = key.User,
                Namespace = key.Namespace,
                Pod = key.Pod,
                ServiceAccount = key.ServiceAccount,
                Backend = key.Backend,
                Path = key.Path,
                Op = key.Op,
                CacheHit = key.CacheHit,
                BytesRead = sum.Bytes,
                Count = sum.Count,
                LatencyMs = sum.LatencyMs / sum.Count,
            });
        }

        foreach (var e in done)
        {
            _buckets.Remove(new Key(e.Timestamp, e.Node, e.User, e.Namespace, e.Pod, e.ServiceAccount, e.Backend, e.Path, e.Op, e.CacheHit));
        }

        done.Sort((a, b) => a.Timestamp.CompareTo(b.Timestamp));
        return done;
    }

    private readonly record struct Key(
        DateTimeOffset Minute, string Node, string? User, string? Namespace, string? Pod, string? ServiceAccount,
        string Backend, string Path, AccessOp Op, bool CacheHit);

    private sealed class Sum
    {
        public int Count;
        public long Bytes;
        public double LatencyMs;
    }
}
