using System.Diagnostics;
using System.Runtime.CompilerServices;
using WarpDrive.Backends;

namespace WarpDrive.Node.Observability;

/// <summary>
/// An <see cref="IBackend"/> decorator that records latency, errors and bytes read per backend. Keeps the
/// inner backend's name, so cache keys and logs are unchanged. Does not own the inner backend's lifetime beyond
/// forwarding <see cref="DisposeAsync"/>.
/// </summary>
public sealed class InstrumentedBackend : IBackend, IInPlaceSource
{
    private readonly IBackend _inner;
    private readonly NodeMetrics _metrics;
    private readonly KeyValuePair<string, object?> _backendTag;

    public InstrumentedBackend(IBackend inner, NodeMetrics metrics)
    {
        _inner = inner;
        _metrics = metrics;
        _backendTag = new("backend", inner.Name);

        // A zero series per error type, so "no errors yet" is a 0 on the dashboard rather than a missing metric.
        foreach (var kind in Enum.GetValues<BackendErrorKind>())
        {
            _metrics.BackendErrors.Add(0, _backendTag, new("error_type", ErrorType(kind)));
        }
    }

    public string Name => _inner.Name;

    public string Type => _inner.Type;

    /// <summary>Forwarded, so wrapping a local backend never turns its in-place serving off (see <see cref="IInPlaceSource"/>).</summary>
    public bool ServesInPlace => _inner is IInPlaceSource { ServesInPlace: true };

    public Microsoft.Win32.SafeHandles.SafeFileHandle? TryOpenVersion(string path, string expectedETag) =>
        (_inner as IInPlaceSource)?.TryOpenVersion(path, expectedETag);

    public async IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await using var entries = _inner.ListAsync(prefix, recursive, cancellationToken).GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            bool more;
            try
            {
                more = await entries.MoveNextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (Count(e, "list"))
            {
                throw;
            }

            if (!more)
            {
                break;
            }

            yield return entries.Current;
        }

        Record("list", started);
    }

    public async ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await _inner.StatAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Count(e, "stat"))
        {
            throw;
        }
        finally
        {
            Record("stat", started);
        }
    }

    public ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        ReadVersionAtAsync(path, "", offset, buffer, cancellationToken);

    public async ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var read = await _inner.ReadVersionAtAsync(path, expectedETag, offset, buffer, cancellationToken).ConfigureAwait(false);
            _metrics.BackendBytesRead.Add(read, _backendTag);
            return read;
        }
        catch (Exception e) when (Count(e, "read"))
        {
            throw;
        }
        finally
        {
            Record("read", started);
        }
    }

    public async ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await _inner.OpenReadAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (Count(e, "open"))
        {
            throw;
        }
        finally
        {
            Record("open", started);
        }
    }

    public ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken) => _inner.WriteAsync(path, content, cancellationToken);

    public ValueTask DeleteAsync(string path, CancellationToken cancellationToken) => _inner.DeleteAsync(path, cancellationToken);

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    private void Record(string operation, long started) =>
        _metrics.BackendRequestDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, _backendTag, new("operation", operation));

    private static string ErrorType(BackendErrorKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>Counts the error and returns false, so the exception filter never catches (the stack stays intact).</summary>
    private bool Count(Exception e, string operation)
    {
        var type = e switch
        {
            BackendException b => ErrorType(b.Kind),
            OperationCanceledException => "cancelled",
            _ => "other",
        };
        _metrics.BackendErrors.Add(1, _backendTag, new("error_type", type));
        _ = operation;
        return false;
    }
}
