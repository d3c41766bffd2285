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
    /// <summary>The probe's time limit, also named in a Timeout outcome.</summary>
    public static TimeSpan Timeout { get; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Probes <paramref name="backend"/>, logs the result naming it, and returns what was observed in words fit for a
    /// status condition (never an exception's text: messages of SDK errors can carry request details). Null when
    /// <paramref name="cancellationToken"/> ended the probe (unmounted or stopping meanwhile).
    /// </summary>
    public static async Task<ProbeOutcome?> RunAsync(string name, IBackend backend, ILogger logger, CancellationToken cancellationToken)
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
            return ProbeOutcome.Reached(first is null
                ? "listed the backend; no object was found near its root"
                : "listed the backend and read from its first object");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return null; // unmounted meanwhile
        }
        catch (OperationCanceledException)
        {
            logger.LogWarning("backend {Backend} did not answer within {Seconds} s of mounting; reads from it will fail until it does", name, Timeout.TotalSeconds);
            return ProbeOutcome.Failed(ProbeReasons.Timeout, $"the backend did not answer within {Timeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is BackendException or IOException or UnauthorizedAccessException or HttpRequestException)
        {
            logger.LogWarning("backend {Backend} is not usable yet: {Error}", name, e.Message);
            return ProbeOutcome.From(e);
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

/// <summary>CamelCase causes a probe reports (the WarpDataSource CRD's <c>status.nodes[].reason</c>).</summary>
public static class ProbeReasons
{
    public const string Reachable = "Reachable";
    public const string AccessDenied = "AccessDenied";
    public const string NotFound = "NotFound";
    public const string Timeout = "Timeout";
    public const string Unreachable = "Unreachable";
    public const string Throttled = "Throttled";
    public const string SetupFailed = "SetupFailed";
    public const string BackendError = "BackendError";
}

/// <summary>
/// What one probe of a backend observed: reached or not, a CamelCase reason and one sentence of our own. The
/// sentence is chosen from the failure's kind, never copied from an exception, so it can go into a Kubernetes
/// status as it is.
/// </summary>
public sealed record ProbeOutcome(bool Reachable, string Reason, string Message)
{
    public static ProbeOutcome Reached(string message) => new(true, ProbeReasons.Reachable, message);

    public static ProbeOutcome Failed(string reason, string message) => new(false, reason, message);

    /// <summary>The outcome for a failure the probe caught (a backend, I/O, permission or HTTP error).</summary>
    public static ProbeOutcome From(Exception error) => error switch
    {
        BackendException { Kind: BackendErrorKind.AccessDenied } or UnauthorizedAccessException =>
            Failed(ProbeReasons.AccessDenied, "the backend refused the node's credentials or lacks permission (access denied)"),
        BackendException { Kind: BackendErrorKind.NotFound } =>
            Failed(ProbeReasons.NotFound, "the bucket, container or root the source names does not exist"),
        BackendException { Kind: BackendErrorKind.Timeout } =>
            Failed(ProbeReasons.Timeout, "the backend did not answer in time"),
        BackendException { Kind: BackendErrorKind.Throttled } =>
            Failed(ProbeReasons.Throttled, "the backend kept throttling the node's requests"),
        BackendException { Kind: BackendErrorKind.Unavailable } or HttpRequestException or IOException =>
            Failed(ProbeReasons.Unreachable, "the backend's endpoint could not be reached or kept failing"),
        _ => Failed(ProbeReasons.BackendError, "the backend answered with an error (the node agent's log has the details)"),
    };
}
