using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using WarpDrive.Auth.Providers;
using WarpDrive.Backends;

namespace WarpDrive.Auth;

/// <summary>
/// A backend whose credentials come from a provider. Before each operation it makes sure the credential is
/// current (a lock-free time check when it is), so a credential failure surfaces here, once, as a
/// <see cref="BackendException"/> — never inside the SDK's retry loop, and never with a token in it. The layers
/// above (filesystem, cache) see a plain <see cref="IBackend"/>.
/// </summary>
/// <remarks>
/// Failures: the identity endpoint refused (400/401/403) → AccessDenied; unreachable or 5xx after retries →
/// Unavailable; 429 → Throttled; no answer in time → Timeout. The provider's refresher writes the one log line
/// per failed renewal. Separately, when the storage service itself answers AccessDenied to credentials that were
/// issued fine (say, a role without permission), one warning naming backend and provider is logged per minute.
/// Owns the inner backend and the provider.
/// </remarks>
public sealed class AuthenticatedBackend : IBackend
{
    private static readonly TimeSpan DeniedLogInterval = TimeSpan.FromMinutes(1);

    private readonly IBackend _inner;
    private readonly ICredentialProvider _provider;
    private readonly ILogger _logger;
    private long _lastDeniedLogTicks = long.MinValue;

    internal AuthenticatedBackend(IBackend inner, ICredentialProvider provider, ILogger logger)
    {
        _inner = inner;
        _provider = provider;
        _logger = logger;
    }

    public string Name => _inner.Name;

    public string Type => _inner.Type;

    /// <summary>The <c>auth.method</c> in use.</summary>
    public string Provider => _provider.Method;

    public async IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await EnsureCredentialAsync(cancellationToken).ConfigureAwait(false);
        var entries = _inner.ListAsync(prefix, recursive, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (entries.ConfigureAwait(false))
        {
            while (true)
            {
                BackendEntry entry;
                try
                {
                    if (!await entries.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }
                    entry = entries.Current;
                }
                catch (BackendException e) when (e.Kind == BackendErrorKind.AccessDenied)
                {
                    NoteDenied(e);
                    throw;
                }
                yield return entry;
            }
        }
    }

    public ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken) =>
        Run(path, static (b, p, ct) => b.StatAsync(p, ct), cancellationToken);

    public ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        Run((path, offset, buffer), static (b, s, ct) => b.ReadAtAsync(s.path, s.offset, s.buffer, ct), cancellationToken);

    // Forwarded explicitly: the interface's default would lose the inner backend's conditional (If-Match) read.
    public ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        Run((path, expectedETag, offset, buffer), static (b, s, ct) => b.ReadVersionAtAsync(s.path, s.expectedETag, s.offset, s.buffer, ct), cancellationToken);

    public ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken) =>
        Run(path, static (b, p, ct) => b.OpenReadAsync(p, ct), cancellationToken);

    public async ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken) =>
        await Run((path, content), static async (b, s, ct) =>
        {
            await b.WriteAsync(s.path, s.content, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask DeleteAsync(string path, CancellationToken cancellationToken) =>
        await Run(path, static async (b, p, ct) =>
        {
            await b.DeleteAsync(p, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        await _inner.DisposeAsync().ConfigureAwait(false);
        _provider.Dispose();
    }

    private async ValueTask<T> Run<T, TState>(TState state, Func<IBackend, TState, CancellationToken, ValueTask<T>> operation, CancellationToken cancellationToken)
    {
        await EnsureCredentialAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await operation(_inner, state, cancellationToken).ConfigureAwait(false);
        }
        catch (BackendException e) when (e.Kind == BackendErrorKind.AccessDenied)
        {
            NoteDenied(e);
            throw;
        }
    }

    private async ValueTask EnsureCredentialAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _provider.EnsureCurrentAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (CredentialException e)
        {
            // Logged once by the refresher; the message is the safe one (status and code, no token).
            throw new BackendException(e.Kind, Name, $"credentials from {Provider} failed: {e.Reason}", e);
        }
    }

    private void NoteDenied(BackendException e)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastDeniedLogTicks);
        if (last != long.MinValue && now - last < (long)DeniedLogInterval.TotalMilliseconds)
        {
            return;
        }
        if (Interlocked.CompareExchange(ref _lastDeniedLogTicks, now, last) == last)
        {
            _logger.LogWarning("{Backend}: access denied to credentials from {Provider}: {Message}", Name, Provider, e.Message);
        }
    }
}
