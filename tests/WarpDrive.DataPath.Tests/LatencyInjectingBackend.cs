using WarpDrive.Backends;

namespace WarpDrive.DataPath.Tests;

/// <summary>Wraps a real backend and adds a fixed delay to every data read, so a local directory behaves like a remote store.</summary>
internal sealed class LatencyInjectingBackend(IBackend inner, TimeSpan readLatency) : IBackend, IInPlaceSource
{
    private long _reads;

    public long Reads => Interlocked.Read(ref _reads);

    public string Name => inner.Name;

    public string Type => inner.Type;

    /// <summary>Forwarded like the agent's own decorator does, so an in-place local backend stays in place.</summary>
    public bool ServesInPlace => inner is IInPlaceSource { ServesInPlace: true };

    public Microsoft.Win32.SafeHandles.SafeFileHandle? TryOpenVersion(string path, string expectedETag) => (inner as IInPlaceSource)?.TryOpenVersion(path, expectedETag);

    public IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, CancellationToken cancellationToken) => inner.ListAsync(prefix, recursive, cancellationToken);

    public ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken) => inner.StatAsync(path, cancellationToken);

    public ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        ReadVersionAtAsync(path, "", offset, buffer, cancellationToken);

    public async ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        if (readLatency > TimeSpan.Zero)
        {
            await Task.Delay(readLatency, cancellationToken);
        }

        return await inner.ReadVersionAtAsync(path, expectedETag, offset, buffer, cancellationToken);
    }

    public ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);

    public ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken) => inner.WriteAsync(path, content, cancellationToken);

    public ValueTask DeleteAsync(string path, CancellationToken cancellationToken) => inner.DeleteAsync(path, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
