using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace WarpDrive.Telemetry.Tests;

/// <summary>A real HTTP server on 127.0.0.1 (HttpListener) that records every request and answers with a handler.</summary>
internal sealed class LoopbackIngestServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<ReceivedRequest, int, Task<int>> _answer;
    private readonly Task _loop;
    private int _requests;

    /// <param name="answer">Status code for the n-th request (0-based); a task that never completes stalls the request.</param>
    public LoopbackIngestServer(Func<ReceivedRequest, int, Task<int>> answer)
    {
        _answer = answer;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseUrl.ToString());
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri BaseUrl { get; }

    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();

    public SemaphoreSlim RequestArrived { get; } = new(0);

    public void Dispose()
    {
        _listener.Close();
        RequestArrived.Dispose();
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var request = new ReceivedRequest(
                    context.Request.HttpMethod,
                    context.Request.Url!.AbsolutePath,
                    context.Request.Headers["Authorization"],
                    context.Request.Headers["Idempotency-Key"],
                    await reader.ReadToEndAsync());
                Received.Enqueue(request);
                var n = Interlocked.Increment(ref _requests) - 1;
                RequestArrived.Release();
                try
                {
                    context.Response.StatusCode = await _answer(request, n);
                    context.Response.Close();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                }
            });
        }
    }
}

internal sealed record ReceivedRequest(string Method, string Path, string? Authorization, string? IdempotencyKey, string Body);
