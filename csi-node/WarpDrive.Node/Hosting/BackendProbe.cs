using System.Diagnostics;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// Right after a tree is mounted, each of its backends is asked once, in the background, for its first object and
/// one byte of it. A wrong credential, bucket or endpoint then shows in the log seconds after start, naming the
/// backend, instead of at a training pod's first read; and the client's first-request set-up (connection, signing,
/// endpoint resolution, code paths compiled on first use) is paid before a reader waits for it. Best effort: a
/// failure is a warning, never fatal; nothing is cached (the read goes to the backend, not the block cache).
/// </summary>
public static class BackendProbe
{
    private const int MaxEntriesPerListing = 1000;
    private const int MaxDepth = 4;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task RunAsync(string name, IBackend backend, ILogger logger, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var clock = Stopwatch.StartNew();
        try
        {
            var first = await FirstObjectAsync(backend, "", 0, timeout.Token).ConfigureAwait(false);
            if (first is not null)
            {
                await backend.ReadAtAsync(first.Path, 0, new byte[1], timeout.Token).ConfigureAwait(false);
            }

            logger.LogInformation("backend {Backend} reachable: {What} in {Milliseconds} ms", name,
                first is null ? "listed (no object found near the root)" : $"listed and read {first.Path}", clock.ElapsedMilliseconds);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // unmounted meanwhile
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("backend {Backend} did not answer within {Seconds} s of mounting; reads from it will fail until it does", name, Timeout.TotalSeconds);
        }
        catch (Exception e) when (e is BackendException or IOException or UnauthorizedAccessException or HttpRequestException)
        {
            logger.LogWarning("backend {Backend} is not usable yet: {Error}", name, e.Message);
        }
    }

    /// <summary>The first file in listing order, going at most <see cref="MaxDepth"/> directories down.</summary>
    private static async Task<BackendEntry?> FirstObjectAsync(IBackend backend, string prefix, int depth, CancellationToken cancellationToken)
    {
        BackendEntry? firstDirectory = null;
        var seen = 0;
        await foreach (var entry in backend.ListAsync(prefix, recursive: false, cancellationToken).ConfigureAwait(false))
        {
            if (!entry.IsDirectory && entry.Size > 0)
            {
                return entry;
            }

            firstDirectory ??= entry.IsDirectory ? entry : null;
            if (++seen >= MaxEntriesPerListing)
            {
                break;
            }
        }

        return firstDirectory is null || depth >= MaxDepth ? null : await FirstObjectAsync(backend, firstDirectory.Path, depth + 1, cancellationToken).ConfigureAwait(false);
    }
}
