using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using WarpDrive.Backends;

namespace WarpDrive.Cache.Tests;

/// <summary>
/// Wraps a real backend (a LocalBackend in these tests): counts calls per method and per path, can add latency to
/// reads and make reads fail. The data itself always comes from the wrapped backend.
/// </summary>
internal sealed class CountingBackend(IBackend inner) : IBackend
{
    private readonly ConcurrentDictionary<string, int> _readsByPath = new();
    private int _readAtCalls;
    private int _listCalls;
    private int _statCalls;

    public string Name => inner.Name;

    public string Type => inner.Type;

    /// <summary>Added before every ranged read.</summary>
    public TimeSpan ReadLatency { get; set; }

    /// <summary>When set, ranged reads throw what it returns (null = succeed).</summary>
    public Func<string, long, Exception?>? ReadFault { get; set; }

    public int ReadAtCalls => Volatile.Read(ref _readAtCalls);

    public int ListCalls => Volatile.Read(ref _listCalls);

    public int StatCalls => Volatile.Read(ref _statCalls);

    public int ReadsOf(string path) => _readsByPath.GetValueOrDefault(path);

    public async IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _listCalls);
        await foreach (var entry in inner.ListAsync(prefix, recursive, cancellationToken))
        {
            yield return entry;
        }
    }

    public ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _statCalls);
        return inner.StatAsync(path, cancellationToken);
    }

    public ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        ReadVersionAtAsync(path, "", offset, buffer, cancellationToken);

    public async ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _readAtCalls);
        _readsByPath.AddOrUpdate(path, 1, (_, n) => n + 1);
        if (ReadLatency > TimeSpan.Zero)
        {
            await Task.Delay(ReadLatency, cancellationToken);
        }

        if (ReadFault?.Invoke(path, offset) is { } fault)
        {
            throw fault;
        }

        return await inner.ReadVersionAtAsync(path, expectedETag, offset, buffer, cancellationToken);
    }

    public ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);

    public ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken) => inner.WriteAsync(path, content, cancellationToken);

    public ValueTask DeleteAsync(string path, CancellationToken cancellationToken) => inner.DeleteAsync(path, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
