using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace WarpDrive.Backends.Resilience;

/// <summary>
/// The retry-and-timeout pipeline every remote backend runs its requests through, and the one place where SDK
/// failures become <see cref="BackendException"/>s.
/// </summary>
/// <remarks>
/// Per attempt: a timeout (config key <c>timeout</c>, default 30 s). Around it: up to <c>MaxAttempts</c> attempts
/// with exponential backoff and jitter, only for failures the backend's classifier calls transient (5xx,
/// 429/503 throttling, refused/reset connections, attempt timeouts). Caller cancellation is never retried.
/// The pipeline is immutable and shared by all concurrent requests of one backend.
/// </remarks>
public sealed class BackendResilience
{
    public const int MaxAttempts = 3;
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    private readonly string _backend;
    private readonly Func<Exception, FailureClass?> _classify;
    private readonly ResiliencePipeline _pipeline;

    /// <param name="classify">Classifies a failed attempt; null means "not a backend failure" (a bug: rethrown as is).</param>
    public BackendResilience(string backend, TimeSpan attemptTimeout, Func<Exception, FailureClass?> classify, TimeSpan? retryBaseDelay = null)
    {
        _backend = backend;
        _classify = classify;
        AttemptTimeout = attemptTimeout;
        _pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = retryBaseDelay ?? TimeSpan.FromMilliseconds(200),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e, args.Context.CancellationToken)),
            })
            .AddTimeout(attemptTimeout)
            .Build();
    }

    public TimeSpan AttemptTimeout { get; }

    public static BackendResilience FromConfig(string backend, BackendConfig config, Func<Exception, FailureClass?> classify) =>
        new(backend, config.Duration("timeout", DefaultTimeout), classify, config.Duration("retry_base_delay", TimeSpan.FromMilliseconds(200)));

    /// <summary>Runs <paramref name="attempt"/> with retries; failures surface as <see cref="BackendException"/>.</summary>
    public async ValueTask<T> ExecuteAsync<T, TState>(string operation, string path, TState state, Func<TState, CancellationToken, ValueTask<T>> attempt, CancellationToken cancellationToken)
    {
        try
        {
            return await _pipeline.ExecuteAsync(
                static (s, ct) => s.attempt(s.state, ct),
                (attempt, state),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not BackendException)
        {
            throw ToBackendException(e, operation, path);
        }
    }

    public BackendException ToBackendException(Exception e, string operation, string path)
    {
        var failure = e is TimeoutRejectedException
            ? new FailureClass(BackendErrorKind.Timeout, true, $"no answer within {AttemptTimeout.TotalSeconds:0.###}s")
            : _classify(e) ?? new FailureClass(BackendErrorKind.Other, false, e.GetType().Name);
        // The SDK exception is kept as inner for diagnostics; our own message carries only the safe description.
        return new BackendException(failure.Kind, _backend, $"{operation} '{path}' failed: {failure.Description}", e);
    }

    private bool IsTransient(Exception e, CancellationToken token) => e switch
    {
        OperationCanceledException when token.IsCancellationRequested => false,
        TimeoutRejectedException => true,
        BackendException => false,
        _ => _classify(e)?.Transient ?? false,
    };
}
