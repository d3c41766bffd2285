using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using NUnit.Framework;

namespace WarpDrive.Tests.Shared;

/// <summary>What a reader saw: the checksum of every byte it read, how many, its slowest single read(2), and any error.</summary>
public sealed record StreamResult(byte[] Sha256, long Bytes, TimeSpan LongestRead, string? Error)
{
    /// <summary>No error, every one of <paramref name="fileSize"/> bytes, the right checksum, and the server really went away mid-file.</summary>
    public void AssertEveryByte(long fileSize, byte[] expectedSha256, long atRestart) =>
        Assert.Multiple(() =>
        {
            Assert.That(Error, Is.Null, "the reader saw an error");
            Assert.That(atRestart, Is.LessThan(fileSize), "the reader was still mid-file when the server went away (else this proves nothing)");
            Assert.That(Bytes, Is.EqualTo(fileSize), "every byte");
            Assert.That(Sha256, Is.EqualTo(expectedSha256), "and the right ones");
        });

    /// <summary>Prints where the reader was and its slowest single read: the gap it saw.</summary>
    public void Report(string what, long fileSize, long atRestart) =>
        TestContext.Progress.WriteLine(
            $"{what}: reader was at {atRestart >> 20} MiB of {fileSize >> 20} MiB; longest single read (the gap it saw): {LongestRead.TotalMilliseconds:0} ms; {Bytes} bytes, error: {Error ?? "none"}");
}

/// <summary>
/// A training-loop-like reader in a process of its own (as a real job is): one file through the mount, start to end,
/// in 1 MiB read(2) calls, hashing as it goes. While throttled it pauses 20 ms between reads, so it is still in the
/// middle of the file when the test restarts the agent; its slowest single read is the gap it saw.
/// </summary>
/// <remarks>
/// Why not a thread of the test: a thread blocked in a read on the mount while no agent serves it stalled the test
/// process's next Process.Start (the one that starts the new agent), so the test would wait for itself. The reader is
/// the test assembly run as a program (<see cref="Main"/>, `dotnet WarpDrive.Mount.Tests.dll stream-reader FILE`; each test project
/// that links this file names it as its StartupObject).
/// It reports "read N" after each read and "done SHA BYTES MS" or "error MESSAGE" at the end on stdout, and stops
/// pausing when it reads "fast" on stdin.
/// </remarks>
public sealed class StreamingReader : IAsyncDisposable
{
    private const int Chunk = 1 << 20;
    private readonly Process _process;
    private readonly TaskCompletionSource<StreamResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _bytes;

    private StreamingReader(string path)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            ArgumentList = { typeof(StreamingReader).Assembly.Location, "stream-reader", path },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginOutputReadLine();
    }

    public Task<StreamResult> Completion => _completion.Task;

    public long BytesRead => Interlocked.Read(ref _bytes);

    public static StreamingReader Start(string path) => new(path);

    /// <summary>Lets the reader run at full speed once the restart is over.</summary>
    public void Unthrottle()
    {
        _process.StandardInput.WriteLine("fast");
        _process.StandardInput.Flush();
    }

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

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(); // SIGKILL by pid: a reader blocked on a mount that nobody serves dies when the mount goes
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _completion.TrySetResult(new StreamResult([], BytesRead, TimeSpan.Zero, "the reader process ended without a result"));
            return;
        }

        var fields = line.Split(' ', 4);
        switch (fields[0])
        {
            case "read":
                Interlocked.Exchange(ref _bytes, long.Parse(fields[1], CultureInfo.InvariantCulture));
                break;
            case "done":
                _completion.TrySetResult(new StreamResult(Convert.FromHexString(fields[1]), long.Parse(fields[2], CultureInfo.InvariantCulture),
                    TimeSpan.FromMilliseconds(double.Parse(fields[3], CultureInfo.InvariantCulture)), null));
                break;
            case "error":
                _completion.TrySetResult(new StreamResult([], BytesRead, TimeSpan.Zero, line[6..]));
                break;
        }
    }

    /// <summary>The reader process (see the remarks of the class). The test adapter does not use an entry point.</summary>
    public static int Main(string[] args)
    {
        if (args is not ["stream-reader", var path])
        {
            Console.Error.WriteLine($"usage: {typeof(StreamingReader).Assembly.GetName().Name} stream-reader FILE");
            return 2;
        }

        var throttled = true;
        var control = new Thread(() =>
        {
            while (Console.ReadLine() is { } command)
            {
                if (command == "fast")
                {
                    Volatile.Write(ref throttled, false);
                }
            }
        })
        { IsBackground = true };
        control.Start();

        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[Chunk];
        var longest = TimeSpan.Zero;
        long total = 0;
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
                total += n;
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"read {total}"));
                Console.Out.Flush();
                if (Volatile.Read(ref throttled))
                {
                    Thread.Sleep(20);
                }
            }

            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"done {Convert.ToHexString(sha.GetHashAndReset())} {total} {longest.TotalMilliseconds:0}"));
            return 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Out.WriteLine("error " + e.Message.ReplaceLineEndings(" "));
            return 1;
        }
        finally
        {
            Console.Out.Flush();
        }
    }
}
