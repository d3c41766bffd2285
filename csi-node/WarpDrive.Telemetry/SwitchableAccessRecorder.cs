namespace WarpDrive.Telemetry;

/// <summary>
/// The recorder the FUSE trees hold in CSI mode, whose target is replaced when the node config's <c>telemetry:</c>
/// section changes (the operator renders the control plane's address into it, and that address can change while
/// mounts serve). <see cref="Record"/> is one volatile read and a call: nothing waits. An event recorded by a thread
/// that read the old target just before a swap may land in the old recorder as it drains, or be counted as dropped
/// by it: one accounting line, never a blocked reader.
/// </summary>
public sealed class SwitchableAccessRecorder(IAccessRecorder initial) : IAccessRecorder, IAsyncDisposable
{
    private IAccessRecorder _current = initial;

    public IAccessRecorder Current => Volatile.Read(ref _current);

    public void Record(in AccessEvent accessEvent) => Volatile.Read(ref _current).Record(in accessEvent);

    /// <summary>Makes <paramref name="next"/> the target, then disposes the previous one (it sends what it queued).</summary>
    public async ValueTask SwapAsync(IAccessRecorder next)
    {
        var previous = Interlocked.Exchange(ref _current, next);
        if (previous is IAsyncDisposable disposable && !ReferenceEquals(previous, next))
        {
            await disposable.DisposeAsync().ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync() => Current is IAsyncDisposable disposable ? disposable.DisposeAsync() : ValueTask.CompletedTask;
}
