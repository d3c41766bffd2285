using System.Diagnostics;
using System.Security.Cryptography;

namespace WarpDrive.Mount.Tests;

/// <summary>What a reader saw: the checksum of every byte it read, how many, its slowest single read(2), and any error.</summary>
public sealed record StreamResult(byte[] Sha256, long Bytes, TimeSpan LongestRead, Exception? Error);

/// <summary>
/// A training-loop-like reader: one file through the mount, start to end, in 1 MiB read(2) calls on a thread of its
/// own, hashing as it goes. While <see cref="Throttled"/> it pauses between reads, so it is still in the middle of the
/// file when the test restarts the agent; the slowest single read is the gap it saw.
/// </summary>
public sealed class StreamingReader
{
    private const int Chunk = 1 << 20;
    private long _bytes;
    private volatile bool _throttled = true;

    private StreamingReader(string path) => Completion = Task.Factory.StartNew(() => Run(path), TaskCreationOptions.LongRunning);

    public Task<StreamResult> Completion { get; }

    public long BytesRead => Interlocked.Read(ref _bytes);

    /// <summary>Whether the reader pauses 20 ms between reads; the test lets it run at full speed once the restart is over.</summary>
    public bool Throttled
    {
        get => _throttled;
        set => _throttled = value;
    }

    public static StreamingReader Start(string path) => new(path);

    /// <summary>Waits until at least <paramref name="bytes"/> have been read (the reader is mid-file and the agent serving it).</summary>
    public async Task WaitForAsync(long bytes)
    {
        var deadline = Stopwatch.StartNew();
        while (BytesRead < bytes)
        {
            if (Completion.IsCompleted)
            {
                Assert.Fail($"the reader ended after {BytesRead} bytes, before reaching {bytes}: {Completion.Result.Error}");
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                Assert.Fail($"the reader read only {BytesRead} bytes in 60 s");
            }

            await Task.Delay(20);
        }
    }

    private StreamResult Run(string path)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[Chunk];
        var longest = TimeSpan.Zero;
        try
        {
            // No user-space buffering: every Read is one read(2) on the mount.
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
            while (true)
            {
                var started = Stopwatch.GetTimestamp();
                var n = file.Read(buffer, 0, buffer.Length);
                var took = Stopwatch.GetElapsedTime(started);
                longest = took > longest ? took : longest;
                if (n == 0)
                {
                    break;
                }

                sha.AppendData(buffer, 0, n);
                Interlocked.Add(ref _bytes, n);
                if (_throttled)
                {
                    Thread.Sleep(20);
                }
            }

            return new StreamResult(sha.GetHashAndReset(), BytesRead, longest, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new StreamResult(sha.GetHashAndReset(), BytesRead, longest, e);
        }
    }
}
