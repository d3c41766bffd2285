namespace WarpDrive.Telemetry.Sinks;

/// <summary>One JSON object per line on standard output (or any writer), flushed per batch (<c>sink: stdout</c>).</summary>
public sealed class StdoutSink(TextWriter? writer = null) : ITelemetrySink
{
    private readonly TextWriter _writer = writer ?? Console.Out;

    public async ValueTask WriteAsync(IReadOnlyList<AccessEvent> batch, CancellationToken cancellationToken)
    {
        foreach (var e in batch)
        {
            await _writer.WriteLineAsync(TelemetryJson.Serialize(e).AsMemory(), cancellationToken);
        }

        await _writer.FlushAsync(cancellationToken);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
