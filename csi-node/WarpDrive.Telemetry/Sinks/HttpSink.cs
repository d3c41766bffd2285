using System.Net;
using System.Net.Http.Headers;
using Polly;
using Polly.Retry;

namespace WarpDrive.Telemetry.Sinks;

/// <summary>How <see cref="HttpSink"/> reaches the control plane.</summary>
public sealed record HttpSinkOptions(Uri BaseUrl)
{
    /// <summary>File holding the bearer token; re-read for every batch so a rotated token is picked up. Null: no token.</summary>
    public string? TokenFile { get; init; }

    public int MaxRetries { get; init; } = 5;

    /// <summary>First retry delay; doubles (with jitter) on every further retry.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Per-attempt timeout.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// POSTs each batch to <c>/api/v1/ingest</c> (<c>sink: http</c>). Every batch carries one Idempotency-Key, the same
/// on each retry, so the server can drop a batch it already stored when only the response was lost. Network errors,
/// timeouts, 429 and 5xx are retried with exponential backoff; any other status fails the batch at once.
/// The token is never logged and never part of an exception message.
/// </summary>
public sealed class HttpSink : ITelemetrySink
{
    private readonly HttpClient _http;
    private readonly bool _ownsClient;
    private readonly HttpSinkOptions _options;
    private readonly Uri _ingest;
    private readonly ResiliencePipeline _retry;

    public HttpSink(HttpSinkOptions options, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _ownsClient = http is null;
        _http = http ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        _ingest = new Uri(options.BaseUrl, "/api/v1/ingest");
        _retry = options.MaxRetries == 0 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.InitialBackoff,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                // A network error has no status code; a status the server chose (other than 429/5xx) will not change on retry.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is TransientIngestException or HttpRequestException { StatusCode: null }),
            })
            .Build();
    }

    public async ValueTask WriteAsync(IReadOnlyList<AccessEvent> batch, CancellationToken cancellationToken)
    {
        var body = TelemetryJson.SerializeIngest(batch);
        var idempotencyKey = Guid.NewGuid().ToString("N");
        await _retry.ExecuteAsync(async token =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _ingest) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Add("Idempotency-Key", idempotencyKey);
            if (_options.TokenFile is { Length: > 0 } tokenFile)
            {
                var bearer = (await File.ReadAllTextAsync(tokenFile, token)).Trim();
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }

            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(token);
            attempt.CancelAfter(_options.RequestTimeout);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, attempt.Token);
            }
            catch (OperationCanceledException) when (!token.IsCancellationRequested)
            {
                throw new TransientIngestException($"POST {_ingest.AbsolutePath} timed out after {_options.RequestTimeout.TotalSeconds}s");
            }

            using (response)
            {
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                var status = (int)response.StatusCode;
                var message = $"POST {_ingest.AbsolutePath} answered {status} {response.ReasonPhrase}";
                throw response.StatusCode == HttpStatusCode.TooManyRequests || status >= 500
                    ? new TransientIngestException(message)
                    : new HttpRequestException(message, null, response.StatusCode);
            }
        }, cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        if (_ownsClient)
        {
            _http.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}

/// <summary>A failure worth retrying: a timeout, 429 or 5xx.</summary>
public sealed class TransientIngestException(string message) : Exception(message);
