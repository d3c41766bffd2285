using WarpDrive.Backends;

namespace WarpDrive.Cache;

/// <summary>No cache: every read goes to the backend. Used when the cache is disabled, and as the baseline in benchmarks.</summary>
public sealed class DirectContentSource : IContentSource
{
    public IObjectReader Open(IBackend backend, BackendEntry version) => new DirectReader(backend, version);

    private sealed class DirectReader(IBackend backend, BackendEntry version) : IObjectReader
    {
        public BackendEntry Version => version;

        public ValueTask<int> ReadAsync(long offset, Memory<byte> destination, CancellationToken cancellationToken)
        {
            if (offset >= version.Size)
            {
                return ValueTask.FromResult(0);
            }

            var length = (int)Math.Min(destination.Length, version.Size - offset);
            return backend.ReadVersionAtAsync(version.Path, version.ETag, offset, destination[..length], cancellationToken);
        }

        public void Dispose()
        {
        }
    }
}
