namespace WarpDrive.Cache;

/// <summary>
/// Per-reader access pattern detector (not thread-safe; the reader locks around it).
/// </summary>
/// <remarks>
/// It keeps the last 8 distinct block accesses. A reader is sequential when at least 3/4 of the steps between
/// them are small (|Δ| ≤ 2 blocks, so the kernel's out-of-order async readahead still counts); with fewer than two
/// steps only a reader that started at block 0 is presumed sequential (the common "read the whole file" case,
/// as the kernel does). Sequential readers get a window that starts at the configured readahead and grows by one
/// block per sequential access up to twice that; a random step collapses the window and forgets what was requested.
/// </remarks>
internal sealed class ReadaheadDetector(int initialWindow)
{
    private const int History = 8;
    private const int NearGap = 2;

    private readonly long[] _recent = new long[History];
    private int _count;
    private bool _startedAtZero;
    private int _window;
    private long _requestedUpTo = -1;

    public bool IsSequential { get; private set; }

    /// <summary>Records a read of blocks [first, last] and returns the blocks to prefetch (Count 0 for none).</summary>
    public (long From, long Count) OnRead(long first, long last, long blockCount)
    {
        for (var block = first; block <= last; block++)
        {
            Record(block);
        }

        IsSequential = Evaluate();
        if (!IsSequential || initialWindow == 0)
        {
            _window = 0;
            _requestedUpTo = -1;
            return (0, 0);
        }

        _window = _window == 0 ? initialWindow : Math.Min(_window + 1, 2 * initialWindow);
        var from = Math.Max(last + 1, _requestedUpTo + 1);
        var to = Math.Min(last + _window, blockCount - 1);
        if (to < from)
        {
            return (0, 0);
        }

        _requestedUpTo = to;
        return (from, to - from + 1);
    }

    private void Record(long block)
    {
        if (_count > 0 && _recent[_count - 1] == block)
        {
            return;
        }

        if (_count == 0)
        {
            _startedAtZero = block == 0;
        }

        if (_count == History)
        {
            Array.Copy(_recent, 1, _recent, 0, History - 1);
            _count--;
        }

        _recent[_count++] = block;
    }

    private bool Evaluate()
    {
        var steps = _count - 1;
        var near = 0;
        for (var i = 1; i < _count; i++)
        {
            if (Math.Abs(_recent[i] - _recent[i - 1]) <= NearGap)
            {
                near++;
            }
        }

        if (steps < 2)
        {
            return _startedAtZero && near == steps;
        }

        return near * 4 >= steps * 3;
    }
}
