using WarpDrive.Backends;

namespace WarpDrive.FileSystem.Tests;

/// <summary>
/// Wraps a real backend and, when told to, fails its calls with a chosen <see cref="BackendErrorKind"/>
/// (the failures object stores produce and a local directory cannot). Counts calls, and can hold stat
/// calls at a gate so concurrent callers pile up.
/// </summary>
internal sealed class FaultInjectingBackend(IBackend inner) : IBackend
{
    private int _statCalls;
    private int _listCalls;
    private int _readFailuresLeft = int.MaxValue;

    public string Name => inner.Name;

    public string Type => inner.Type;

    public BackendErrorKind? FailStat { get; set; }

    public BackendErrorKind? FailList { get; set; }

    public BackendErrorKind? FailRead { get; set; }

    /// <summary>When set, only this many reads fail, then reads pass through again.</summary>
    public int? FailReadTimes
    {
        set => Volatile.Write(ref _readFailuresLeft, value ?? int.MaxValue);
    }

    /// <summary>When set, every stat waits for this task before asking the inner backend.</summary>
    public Task? StatGate { get; set; }

    public int StatCalls => Volatile.Read(ref _statCalls);

    public int ListCalls => Volatile.Read(ref _listCalls);

    public async IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _listCalls);
        if (FailList is { } kind)
        {
            throw new BackendException(kind, Name, $"injected {kind} listing '{prefix}'");
        }

        await foreach (var entry in inner.ListAsync(prefix, recursive, cancellationToken))
        {
            yield return entry;
        }
    }

    public async ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _statCalls);
        if (StatGate is { } gate)
        {
            await gate;
        }

        if (FailStat is { } kind)
        {
            throw new BackendException(kind, Name, $"injected {kind} stat '{path}'");
        }

        return await inner.StatAsync(path, cancellationToken);
    }

    public ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        ReadVersionAtAsync(path, "", offset, buffer, cancellationToken);

    public ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (FailRead is { } kind && Interlocked.Decrement(ref _readFailuresLeft) >= 0)
        {
            throw new BackendException(kind, Name, $"injected {kind} read '{path}'");
        }

        return inner.ReadVersionAtAsync(path, expectedETag, offset, buffer, cancellationToken);
    }

    public ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken) => inner.OpenReadAsync(path, cancellationToken);

    public ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken) => inner.WriteAsync(path, content, cancellationToken);

    public ValueTask DeleteAsync(string path, CancellationToken cancellationToken) => inner.DeleteAsync(path, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
