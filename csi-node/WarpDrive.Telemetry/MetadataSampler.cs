namespace WarpDrive.Telemetry;

/// <summary>
/// Keeps a fixed fraction of metadata events, deterministically: the n-th event is kept when
/// floor(n·rate) moves, so exactly rate·N of N events pass, evenly spread, with one interlocked add and no lock.
/// </summary>
internal sealed class MetadataSampler(double rate)
{
    private long _seen;

    public bool Keep(AccessOp op)
    {
        if (op is AccessOp.Read or AccessOp.Open || rate >= 1)
        {
            return true;
        }

        if (rate <= 0)
        {
            return false;
        }

        var n = Interlocked.Increment(ref _seen);
        return Math.Floor(n * rate) > Math.Floor((n - 1) * rate);
    }
}
