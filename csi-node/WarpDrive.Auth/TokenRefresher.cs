using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace WarpDrive.Auth;

/// <summary>A credential and the time it stops working.</summary>
internal sealed record Expiring<T>(T Value, DateTimeOffset ExpiresOn);

/// <summary>How a provider talks to its identity endpoint: per-attempt timeout, retries, refresh margin.</summary>
internal sealed record RefreshPolicy(TimeSpan AttemptTimeout, TimeSpan RetryBaseDelay)
{
    public const int MaxAttempts = 3;
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);

    /// <summary>After a failed refresh, callers get that failure for this long instead of each hammering the endpoint.</summary>
    public TimeSpan FailureHold { get; init; } = TimeSpan.FromSeconds(5);

    public static RefreshPolicy From(AuthSettings settings) => new(
        settings.Duration("timeout", TimeSpan.FromSeconds(10)),
        settings.Duration("retry_base_delay", TimeSpan.FromMilliseconds(200)));
}

/// <summary>
/// Caches one credential and renews it <see cref="RefreshPolicy.RefreshMargin"/> before it expires, with at most
/// one renewal in flight: concurrent callers share its result (success or failure), then the fresh value is read
/// without locking until the next renewal is due.
/// </summary>
/// <remarks>
/// Hand-written because each SDK caches differently (MSAL, AWS RefreshingAWSCredentials, Google ServiceCredential)
/// with different margins, no shared singleflight, and no hook for our audit; here every provider gets the same
/// margin, retry policy, audit entry and single log line. The lock guards only the fields: the fetch runs on the
/// thread pool, never under it, and with its own cancellation, so one impatient caller cannot fail the others.
/// A renewal that fails while the old value is still valid keeps serving the old value.
/// </remarks>
internal sealed class TokenRefresher<T> : IDisposable
{
    private readonly string _backend;
    private readonly string _provider;
    private readonly Func<CancellationToken, Task<Expiring<T>>> _fetch;
    private readonly RefreshPolicy _policy;
    private readonly AuthAudit _audit;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _pipeline;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly object _sync = new();
    private Expiring<T>? _current;
    private Task<Expiring<T>>? _inflight;
    private (DateTimeOffset Until, CredentialException Error)? _lastFailure;

    public TokenRefresher(string backend, string provider, Func<CancellationToken, Task<Expiring<T>>> fetch, RefreshPolicy policy, AuthAudit audit, ILogger logger, TimeProvider? time = null)
    {
        _backend = backend;
        _provider = provider;
        _fetch = fetch;
        _policy = policy;
        _audit = audit;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _pipeline = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = RefreshPolicy.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = policy.RetryBaseDelay,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e
                    && !_lifetime.IsCancellationRequested
                    && IdentityFailure.Classify(e, policy.AttemptTimeout).Transient),
            })
            .AddTimeout(policy.AttemptTimeout)
            .Build();
    }

    /// <summary>A value valid for at least the refresh margin (or, if renewal failed, still valid); else throws <see cref="CredentialException"/>.</summary>
    public async ValueTask<T> GetAsync(CancellationToken cancellationToken)
    {
        Task<Expiring<T>> renewal;
        lock (_sync)
        {
            var now = _time.GetUtcNow();
            if (_current is { } current && now < current.ExpiresOn - RefreshPolicy.RefreshMargin)
            {
                return current.Value;
            }
            if (_inflight is null && _lastFailure is { } failure && now < failure.Until)
            {
                return _current is { } stillValid && now < stillValid.ExpiresOn ? stillValid.Value : throw failure.Error;
            }
            renewal = _inflight ??= Task.Run(RenewAsync, CancellationToken.None);
        }
        return (await renewal.WaitAsync(cancellationToken).ConfigureAwait(false)).Value;
    }

    public void Dispose()
    {
        _lifetime.Cancel();
        _lifetime.Dispose();
    }

    private async Task<Expiring<T>> RenewAsync()
    {
        try
        {
            var fresh = await _pipeline.ExecuteAsync(static async (s, ct) => await s._fetch(ct).ConfigureAwait(false), this, _lifetime.Token).ConfigureAwait(false);
            lock (_sync)
            {
                _current = fresh;
                _lastFailure = null;
                _inflight = null;
            }
            _audit.Record(new AuthAuditEntry(_time.GetUtcNow(), _backend, _provider, true, null));
            _logger.LogDebug("{Backend}: credentials from {Provider} renewed, valid until {ExpiresOn:u}", _backend, _provider, fresh.ExpiresOn);
            return fresh;
        }
        catch (Exception e)
        {
            var failure = IdentityFailure.Classify(e, _policy.AttemptTimeout);
            var error = new CredentialException(failure.Kind, _backend, _provider, failure.Description, e);
            _audit.Record(new AuthAuditEntry(_time.GetUtcNow(), _backend, _provider, false, failure.Description));
            // The exception object is left out on purpose: SDK messages may quote request fields.
            _logger.LogWarning("{Backend}: credentials from {Provider} failed: {Reason}", _backend, _provider, failure.Description);
            Expiring<T>? fallback;
            lock (_sync)
            {
                _lastFailure = (_time.GetUtcNow() + _policy.FailureHold, error);
                _inflight = null;
                fallback = _current is { } c && _time.GetUtcNow() < c.ExpiresOn ? c : null;
            }
            return fallback ?? throw error;
        }
    }
}
