namespace WarpDrive.FileSystem;

/// <summary>Monotonic counters for metrics. Written with interlocked adds from every worker; read at any time.</summary>
public sealed class FileSystemStats
{
    private long _lookups;
    private long _reads;
    private long _bytesRead;
    private long _errors;
    private long _passthroughOpens;

    public long Lookups => Volatile.Read(ref _lookups);

    public long Reads => Volatile.Read(ref _reads);

    public long BytesRead => Volatile.Read(ref _bytesRead);

    /// <summary>Requests answered with an errno because a backend failed (not plain "not found" lookups).</summary>
    public long Errors => Volatile.Read(ref _errors);

    internal void CountLookup() => Interlocked.Increment(ref _lookups);

    internal void CountRead(int bytes)
    {
        Interlocked.Increment(ref _reads);
        Interlocked.Add(ref _bytesRead, bytes);
    }

    internal void CountError() => Interlocked.Increment(ref _errors);

    /// <summary>Opens handed to the kernel as passthrough files: their reads never reach us.</summary>
    public long PassthroughOpens => Volatile.Read(ref _passthroughOpens);

    internal void CountPassthroughOpen() => Interlocked.Increment(ref _passthroughOpens);
}
