using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends.Resilience;

namespace WarpDrive.Backends.Rclone;

/// <summary>
/// One <c>rclone rcd</c> child process, private to one backend: started on first use, restarted (with backoff)
/// on the first call after it died, killed on dispose. Speaks the rc API (JSON POSTs) and rc-serve (GETs).
/// </summary>
/// <remarks>
/// Privacy: rcd listens on 127.0.0.1 only, on a free port, and requires basic auth with a user and password
/// generated per start (never logged; redacted from rclone's text). They reach rcd as RCLONE_RC_USER and
/// RCLONE_RC_PASS in its environment, which only its owner can read, rather than as --rc-user/--rc-pass on the
/// command line, which every local user can read in /proc/PID/cmdline. No --rc-no-auth, no web GUI.
/// Concurrency: the running session is an immutable snapshot read without locks; only starting holds a
/// semaphore, so concurrent callers during a (re)start wait for one start instead of racing several.
/// </remarks>
internal sealed class RcloneDaemon : IAsyncDisposable
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan HealthyLifetime = TimeSpan.FromSeconds(10);

    private readonly string _binary;
    private readonly TimeSpan _startTimeout;
    private readonly Func<Starting, CancellationToken, ValueTask> _configure;
    private readonly SecretRedactor _redactor;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _startGate = new(1, 1);
    private volatile Session? _session;
    private int _failedStarts;
    private bool _disposed;

    /// <param name="configure">Runs after every start, before any other call (creates the remote in rcd's fresh in-memory config).</param>
    public RcloneDaemon(string binary, TimeSpan startTimeout, Func<Starting, CancellationToken, ValueTask> configure, SecretRedactor redactor, ILogger logger)
    {
        _binary = binary;
        _startTimeout = startTimeout;
        _configure = configure;
        _redactor = redactor;
        _logger = logger;
        // The per-attempt timeout is the resilience pipeline's; HttpClient's own would fire as a non-retried cancellation.
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30) }) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The running rcd's process id, if one runs (for tests and diagnostics).</summary>
    public int? ProcessId => _session is { } s && !s.Process.HasExited ? s.Process.Id : null;

    /// <summary>POSTs one rc call and decodes its answer; a failure becomes <see cref="RcloneCallException"/>.</summary>
    public async ValueTask<TResponse> CallAsync<TRequest, TResponse>(string method, TRequest request, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken)
    {
        var session = await EnsureRunningAsync(cancellationToken).ConfigureAwait(false);
        return await CallAsync(session, method, request, requestType, responseType, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a request built for the running rcd (rc-serve GETs, multipart uploads); non-success becomes <see cref="RcloneCallException"/>.</summary>
    public async ValueTask<HttpResponseMessage> SendAsync(Func<Uri, HttpRequestMessage> build, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        var session = await EnsureRunningAsync(cancellationToken).ConfigureAwait(false);
        return await SendAsync(session, build(session.BaseUri), completion, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _startGate.WaitAsync().ConfigureAwait(false);
        try
        {
            _disposed = true;
            if (_session is { } session)
            {
                _session = null;
                await StopAsync(session.Process).ConfigureAwait(false);
                session.Process.Dispose();
            }
        }
        finally
        {
            _startGate.Release();
        }
        _http.Dispose();
        _startGate.Dispose();
    }

    private async ValueTask<Session> EnsureRunningAsync(CancellationToken cancellationToken)
    {
        if (_session is { Configured: true } current && !current.Process.HasExited)
        {
            return current;
        }
        await _startGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var session = _session;
            if (session is not null && session.Process.HasExited)
            {
                // Logged once per death: the dead session is replaced below, so no later call sees it again.
                _logger.LogWarning("rclone rcd (pid {Pid}) exited with code {Code}; restarting it", session.Process.Id, session.Process.ExitCode);
                if (DateTime.UtcNow - session.StartedAt < HealthyLifetime)
                {
                    _failedStarts++;
                }
                session.Process.Dispose();
                _session = session = null;
            }
            if (session is null)
            {
                await BackoffAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    session = await StartAsync(cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    _failedStarts++;
                    throw;
                }
                _session = session;
            }
            if (!session.Configured)
            {
                await _configure(new Starting(this, session), cancellationToken).ConfigureAwait(false);
                _session = session = session with { Configured = true };
                _failedStarts = 0;
            }
            return session;
        }
        finally
        {
            _startGate.Release();
        }
    }

    private async ValueTask BackoffAsync(CancellationToken cancellationToken)
    {
        if (_failedStarts > 0)
        {
            var delay = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 250 * Math.Pow(2, _failedStarts - 1)));
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<Session> StartAsync(CancellationToken cancellationToken)
    {
        var port = FreePort();
        var user = "warpdrive-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
        _redactor.Add(password);
        var info = new ProcessStartInfo(_binary)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in (string[])[
                     "rcd",
                     "--rc-addr", $"127.0.0.1:{port}",
                     "--rc-serve",              // objects over HTTP with Range support at /[fs]/path
                     "--rc-web-gui=false",
                     "--config", "/dev/null",   // in-memory config: the remote and its secrets never touch disk
                     "--ask-password=false",    // never prompt on a terminal
                     "--low-level-retries", "1", // BackendResilience is the one retry loop
                 ])
        {
            info.ArgumentList.Add(argument);
        }
        // Inherited RCLONE_RC_* could weaken the control server (e.g. RCLONE_RC_NO_AUTH) and RCLONE_CONFIG_*
        // could inject options into our remote: both are ours alone to set.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("RCLONE_RC_", StringComparison.Ordinal) || k.StartsWith("RCLONE_CONFIG", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }
        info.Environment["RCLONE_RC_USER"] = user;
        info.Environment["RCLONE_RC_PASS"] = password;

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new Win32Exception("no process");
        }
        catch (Win32Exception e)
        {
            throw new RcloneDaemonException(new FailureClass(BackendErrorKind.Unavailable, false, $"could not start '{_binary}' ({e.Message}); is rclone installed?"), e);
        }
        var output = new OutputTail();
        process.OutputDataReceived += (_, line) => OnOutput(output, line.Data);
        process.ErrorDataReceived += (_, line) => OnOutput(output, line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.StandardInput.Close();

        var session = new Session(process, new Uri($"http://127.0.0.1:{port}/"), new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"))), DateTime.UtcNow, false);
        try
        {
            await WaitUntilAnsweringAsync(session, output, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await StopAsync(process).ConfigureAwait(false);
            process.Dispose();
            throw;
        }
        _logger.LogInformation("rclone rcd started (pid {Pid}, 127.0.0.1:{Port})", process.Id, port);
        return session;
    }

    private async ValueTask WaitUntilAnsweringAsync(Session session, OutputTail output, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + _startTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (session.Process.HasExited)
            {
                // Usually the port was taken between choosing and binding it: worth another try.
                throw new RcloneDaemonException(new FailureClass(BackendErrorKind.Unavailable, true,
                    $"rclone rcd exited with code {session.Process.ExitCode} while starting: {output.Last}"));
            }
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(1));
                await CallAsync(session, "core/version", new RcloneEmptyRequest(), RcloneJson.Default.RcloneEmptyRequest, RcloneJson.Default.RcloneVersionResponse, attempt.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // not listening yet
            }
            if (DateTime.UtcNow >= deadline)
            {
                throw new RcloneDaemonException(new FailureClass(BackendErrorKind.Unavailable, false,
                    $"rclone rcd did not answer core/version within {_startTimeout.TotalSeconds:0.###}s"));
            }
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<TResponse> CallAsync<TRequest, TResponse>(Session session, string method, TRequest request, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken)
    {
        // rcd parses the body as JSON only for exactly "application/json" (no charset parameter).
        var content = JsonContent.Create(request, requestType, new MediaTypeHeaderValue("application/json"));
        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(session.BaseUri, method)) { Content = content };
        using var response = await SendAsync(session, message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        return (await response.Content.ReadFromJsonAsync(responseType, cancellationToken).ConfigureAwait(false))!;
    }

    private async ValueTask<HttpResponseMessage> SendAsync(Session session, HttpRequestMessage request, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        using (request)
        {
            request.Headers.Authorization = session.Authorization;
            var response = await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                return response;
            }
            using (response)
            {
                throw new RcloneCallException((int)response.StatusCode, await ReadErrorAsync(response, cancellationToken).ConfigureAwait(false));
            }
        }
    }

    /// <summary>rclone's error text only (the body also echoes the request), redacted.</summary>
    private async ValueTask<string> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var error = await response.Content.ReadFromJsonAsync(RcloneJson.Default.RcloneErrorResponse, cancellationToken).ConfigureAwait(false);
            return _redactor.Redact(error?.Error);
        }
        catch (System.Text.Json.JsonException)
        {
            return response.ReasonPhrase ?? "";
        }
    }

    private void OnOutput(OutputTail output, string? line)
    {
        if (line is null)
        {
            return;
        }
        var safe = _redactor.Redact(line);
        output.Last = safe;
        _logger.LogDebug("rclone: {Line}", safe);
    }

    private static async ValueTask StopAsync(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
            // already gone, or not reaped in time: nothing more we can do for it
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A started rcd not yet configured: what the configure step may call.</summary>
    public readonly struct Starting
    {
        private readonly RcloneDaemon _daemon;
        private readonly Session _session;

        internal Starting(RcloneDaemon daemon, Session session)
        {
            _daemon = daemon;
            _session = session;
        }

        public ValueTask<TResponse> CallAsync<TRequest, TResponse>(string method, TRequest request, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken) =>
            _daemon.CallAsync(_session, method, request, requestType, responseType, cancellationToken);
    }

    internal sealed record Session(Process Process, Uri BaseUri, AuthenticationHeaderValue Authorization, DateTime StartedAt, bool Configured);

    private sealed class OutputTail
    {
        public volatile string Last = "(no output)";
    }
}
