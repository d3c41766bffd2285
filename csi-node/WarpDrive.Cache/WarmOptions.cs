namespace WarpDrive.Cache;

/// <summary>How <see cref="BlockCache.WarmAsync"/> downloads.</summary>
public sealed record WarmOptions
{
    /// <summary>Blocks fetched in parallel.</summary>
    public int Workers { get; init; } = 8;

    /// <summary>Stop once this many bytes were downloaded by this run.</summary>
    public long MaxBytes { get; init; } = long.MaxValue;
}

/// <summary>Where a warm run stands.</summary>
/// <param name="FilesDone">Files complete in the cache, including those skipped because they already were.</param>
/// <param name="FilesSkipped">Files that were already fully cached with their current ETag.</param>
/// <param name="BytesDownloaded">Bytes fetched from the backend by this run.</param>
/// <param name="BytesToDownload">Bytes this run found missing (before the cap).</param>
/// <param name="CapReached">The run stopped at <see cref="WarmOptions.MaxBytes"/>.</param>
public sealed record WarmProgress(
    int FilesDone,
    int FilesTotal,
    int FilesSkipped,
    long BytesDownloaded,
    long BytesToDownload,
    TimeSpan Elapsed,
    bool CapReached)
{
    public double MegabytesPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : BytesDownloaded / 1048576.0 / Elapsed.TotalSeconds;

    /// <summary>Estimated time left at the current rate; null until something was downloaded.</summary>
    public TimeSpan? EstimatedRemaining
    {
        get
        {
            if (BytesDownloaded == 0)
            {
                return null;
            }

            var remaining = Math.Max(0, BytesToDownload - BytesDownloaded);
            return TimeSpan.FromSeconds(remaining / (BytesDownloaded / Math.Max(Elapsed.TotalSeconds, 1e-3)));
        }
    }
}
