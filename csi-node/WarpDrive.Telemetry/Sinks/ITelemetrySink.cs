namespace WarpDrive.Telemetry.Sinks;

/// <summary>
/// Where batches of events go. Called by the recorder's pump only, one batch at a time, so implementations need
/// no locking. A batch that cannot be delivered after the sink's own retries is reported by throwing; the pump
/// counts its events as dropped and carries on.
/// </summary>
public interface ITelemetrySink : IAsyncDisposable
{
    ValueTask WriteAsync(IReadOnlyList<AccessEvent> batch, CancellationToken cancellationToken);
}

/// <summary>Discards everything (<c>sink: nop</c>).</summary>
public sealed class NopSink : ITelemetrySink
{
    public ValueTask WriteAsync(IReadOnlyList<AccessEvent> batch, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
