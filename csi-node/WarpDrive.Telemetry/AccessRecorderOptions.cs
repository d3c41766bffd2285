namespace WarpDrive.Telemetry;

/// <summary>How <see cref="AccessRecorder"/> queues, samples, batches and rolls up.</summary>
public sealed record AccessRecorderOptions
{
    /// <summary>Events waiting for the sink; when full, <see cref="IAccessRecorder.Record"/> drops the new event.</summary>
    public int QueueSize { get; init; } = 65536;

    public int BatchSize { get; init; } = 100;

    /// <summary>Longest time the first event of a batch waits for the batch to fill.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Fraction of stat and list events kept; reads and opens are always kept.</summary>
    public double SampleMetadataOps { get; init; } = 1.0;

    /// <summary>Sum events per (user, backend, path, op, cache hit) per minute before sending.</summary>
    public bool Rollup { get; init; }

    /// <summary>How long disposing waits for queued events to reach the sink before giving up on them.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(5);

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(QueueSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(BatchSize);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(FlushInterval, TimeSpan.Zero);
        if (!(SampleMetadataOps >= 0 && SampleMetadataOps <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(SampleMetadataOps), SampleMetadataOps, "must be within [0, 1]");
        }
    }
}
