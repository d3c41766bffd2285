using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.Config;
using BackendConfig = WarpDrive.Config.BackendConfig;

namespace WarpDrive.Auth.Pods;

/// <summary>
/// A data source read with one pod's own cloud identity (<c>auth.source: pod</c>): the backend of that pod's tree.
/// Each grant (publish, republish) that brings a new token or other service-account annotations builds a new
/// generation — the token in an <see cref="InMemoryTokenFile"/>, the source's federation method with the identity the
/// annotations name, an <see cref="AuthenticatedBackend"/> — so a rotated token is what the next fetch exchanges.
/// Its name is the source's, so the node's one block cache is shared with every other identity reading the source.
/// </summary>
/// <remarks>
/// <para>Sharing is safe because of <see cref="EnsureReadableAsync"/>, asked by the filesystem at every open: bytes
/// are served only after this identity has read the object's metadata itself (a HEAD, which each store grants exactly
/// to those allowed to read the object; a listing is no proof, list and read are separate permissions) within
/// <c>auth.access_check_ttl</c> (default 60 s). A refusal is remembered as long, answered EACCES, and written to the
/// auth audit (ring entry and a warning on the <c>WarpDrive.Auth.Audit</c> log category, naming pod and account).</para>
/// <para>Threading: operations read the current generation with one volatile read; a grant swaps it under a lock
/// (never held across I/O). A replaced generation is disposed a while later (in-flight calls finish on it) or with
/// this backend. Before the first grant (a tree taken over after an agent restart, its token not yet republished by
/// kubelet) operations wait up to <see cref="DefaultTokenWait"/>, then fail Unavailable (EIO).</para>
/// </remarks>
public sealed class PodIdentityBackend : IBackend, IReadAccessCheck
{
    /// <summary>How long an operation waits for the first token before it fails, by default.</summary>
    public static readonly TimeSpan DefaultTokenWait = TimeSpan.FromSeconds(20);

    /// <summary>How long a replaced generation stays usable for calls that started on it.</summary>
    private static readonly TimeSpan RetireDelay = TimeSpan.FromMinutes(2);

    private const int MaxRememberedObjects = 100_000;
    private static readonly TimeSpan DefaultAccessCheckTtl = TimeSpan.FromSeconds(60);

    private readonly BackendConfig _source;
    private readonly int _index;
    private readonly BackendServices _services;
    private readonly FederationOptions _options;
    private readonly AuthAudit _audit;
    private readonly ILogger _auditLog;
    private readonly TimeProvider _time = TimeProvider.System;
    private readonly long _accessTtlTicks;
    private readonly TimeSpan _tokenWait;
    private readonly Lock _sync = new();
    private readonly TaskCompletionSource _granted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _disposing = new();
    private readonly List<Generation> _retiring = [];
    // Per object path: when this identity was last allowed or refused, and which. Cleared with every new generation.
    private readonly ConcurrentDictionary<string, (long At, bool Allowed)> _verdicts = new(StringComparer.Ordinal);
    private volatile Generation? _current;

    /// <param name="index">The source's position in the node config, for error keys (<c>backends[i].auth.role_arn</c>).</param>
    /// <param name="tokenWait">How long calls before the first grant wait for it (<see cref="DefaultTokenWait"/>).</param>
    public PodIdentityBackend(BackendConfig source, int index, BackendServices? services = null, FederationOptions? options = null, TimeSpan? tokenWait = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        _source = source;
        _index = index;
        _services = services ?? new BackendServices();
        _options = options ?? FederationOptions.Default;
        _audit = _options.Audit ?? AuthAudit.Shared;
        _auditLog = (_services.LoggerFactory ?? Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance).CreateLogger("WarpDrive.Auth.Audit");
        var ttl = AccessCheckTtlOf(source, index);
        _accessTtlTicks = (long)(ttl.TotalSeconds * _time.TimestampFrequency);
        _tokenWait = tokenWait ?? DefaultTokenWait;
    }

    public string Name => _source.Name;

    public string Type => _source.Type;

    /// <summary>The pod of the latest grant; null until the first.</summary>
    public PodIdentity? Pod => _current?.Grant.Pod;

    /// <summary><c>auth.access_check_ttl</c>: how long one identity's allowed or refused read of an object is remembered.</summary>
    public static TimeSpan AccessCheckTtlOf(BackendConfig source, int index)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!source.Auth.Settings.TryGetValue("access_check_ttl", out var text) || string.IsNullOrWhiteSpace(text))
        {
            return DefaultAccessCheckTtl;
        }

        return WarpDrive.Backends.BackendConfig.TryParseDuration(text.Trim(), out var ttl) && ttl >= TimeSpan.Zero
            ? ttl
            : throw new ConfigException($"backends[{index}].auth.access_check_ttl", "must be a duration like 60s or 5m");
    }

    /// <summary>
    /// Takes a pod's token and service-account annotations. Builds a new generation when either changed (or at the
    /// first grant) and returns true; an unchanged republish returns false and costs nothing. Throws
    /// <see cref="ConfigException"/> when the source's settings plus the annotations do not make an identity (no role).
    /// </summary>
    public bool Grant(PodCredentialGrant grant)
    {
        ArgumentNullException.ThrowIfNull(grant);
        ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
        lock (_sync)
        {
            if (_current is { } current && current.Grant.Token == grant.Token && SameAnnotations(current.Grant.Annotations, grant.Annotations))
            {
                return false;
            }
        }

        var next = Generation.Create(_source, _index, grant, _services, _options);
        Generation? replaced;
        lock (_sync)
        {
            replaced = _current;
            _current = next;
            _verdicts.Clear(); // a new identity (or the same one re-issued) proves its access afresh
            if (replaced is not null)
            {
                _retiring.Add(replaced);
            }
        }

        _granted.TrySetResult();
        if (replaced is not null)
        {
            _ = RetireLaterAsync(replaced);
        }

        return true;
    }

    public async ValueTask EnsureReadableAsync(BackendEntry version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (_verdicts.TryGetValue(version.Path, out var verdict) && verdict.Allowed && IsFresh(verdict.At))
        {
            return;
        }

        // StatAsync asks the store with this identity's credentials, remembers the verdict and audits a refusal.
        _ = await StatAsync(version.Path, cancellationToken).ConfigureAwait(false)
            ?? throw new BackendException(BackendErrorKind.NotFound, Name, $"'{version.Path}' no longer exists");
    }

    public async IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var backend = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var entry in backend.ListAsync(prefix, recursive, cancellationToken).ConfigureAwait(false))
        {
            yield return entry;
        }
    }

    public async ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        if (_verdicts.TryGetValue(path, out var verdict) && !verdict.Allowed && IsFresh(verdict.At))
        {
            throw Refusal(path); // remembered: no request, no new audit entry
        }

        var backend = await CurrentAsync(cancellationToken).ConfigureAwait(false);
        BackendEntry? entry;
        try
        {
            entry = await backend.StatAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (BackendException e) when (e.Kind == BackendErrorKind.AccessDenied)
        {
            Audit(path);
            throw;
        }

        if (entry is { IsDirectory: false })
        {
            Remember(path, allowed: true); // the store answered this identity's HEAD: it may read the object
        }

        return entry;
    }

    public async ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        await (await CurrentAsync(cancellationToken).ConfigureAwait(false)).ReadAtAsync(path, offset, buffer, cancellationToken).ConfigureAwait(false);

    public async ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        await (await CurrentAsync(cancellationToken).ConfigureAwait(false)).ReadVersionAtAsync(path, expectedETag, offset, buffer, cancellationToken).ConfigureAwait(false);

    public async ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken) =>
        await (await CurrentAsync(cancellationToken).ConfigureAwait(false)).OpenReadAsync(path, cancellationToken).ConfigureAwait(false);

    public async ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken) =>
        await (await CurrentAsync(cancellationToken).ConfigureAwait(false)).WriteAsync(path, content, cancellationToken).ConfigureAwait(false);

    public async ValueTask DeleteAsync(string path, CancellationToken cancellationToken) =>
        await (await CurrentAsync(cancellationToken).ConfigureAwait(false)).DeleteAsync(path, cancellationToken).ConfigureAwait(false);

    /// <summary>Forgets the pod's credentials: every generation's backend (and its refresher) and token file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested)
        {
            return;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        List<Generation> all;
        lock (_sync)
        {
            all = [.. _retiring];
            if (_current is { } current)
            {
                all.Add(current);
            }

            _retiring.Clear();
            _current = null;
            _verdicts.Clear();
        }

        foreach (var generation in all)
        {
            await generation.DisposeAsync().ConfigureAwait(false);
        }

        _disposing.Dispose();
    }

    private ValueTask<IBackend> CurrentAsync(CancellationToken cancellationToken)
    {
        var current = _current;
        return current is not null ? new(current.Backend) : WaitForGrantAsync(cancellationToken);
    }

    private async ValueTask<IBackend> WaitForGrantAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
        try
        {
            await _granted.Task.WaitAsync(_tokenWait, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new BackendException(BackendErrorKind.Unavailable, Name, $"no service-account token yet for this pod's tree; kubelet brings one with its next republish");
        }

        return _current?.Backend ?? throw new ObjectDisposedException(nameof(PodIdentityBackend));
    }

    private void Remember(string path, bool allowed)
    {
        if (_verdicts.Count >= MaxRememberedObjects)
        {
            _verdicts.Clear(); // a bound, not a policy: forgetting only costs HEADs
        }

        _verdicts[path] = (_time.GetTimestamp(), allowed);
    }

    private bool IsFresh(long at) => _time.GetTimestamp() - at < _accessTtlTicks;

    /// <summary>The store refused this identity: remembered for the TTL, and written to the auth audit with the pod.</summary>
    private void Audit(string path)
    {
        Remember(path, allowed: false);
        var pod = Pod?.ToString() ?? "a pod";
        _audit.RecordRefusal(new AuthAuditEntry(_time.GetUtcNow(), Name, _source.Auth.Method, false, $"AccessDenied: read of '{path}' refused", pod));
        _auditLog.LogWarning("access refused: {Pod} may not read {Backend}:{Path} (its {Method} identity was denied; cached bytes are not served to it)",
            pod, Name, path, _source.Auth.Method);
    }

    private BackendException Refusal(string path) =>
        new(BackendErrorKind.AccessDenied, Name, $"'{path}' may not be read with this pod's identity");

    private async Task RetireLaterAsync(Generation generation)
    {
        try
        {
            await Task.Delay(RetireDelay, _time, _disposing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // disposed: DisposeAsync takes it
        }
        catch (ObjectDisposedException)
        {
            return;
        }

        lock (_sync)
        {
            if (!_retiring.Remove(generation))
            {
                return;
            }
        }

        await generation.DisposeAsync().ConfigureAwait(false);
    }

    private static bool SameAnnotations(IReadOnlyDictionary<string, string> a, IReadOnlyDictionary<string, string> b) =>
        a.Count == b.Count && a.All(e => b.TryGetValue(e.Key, out var v) && v == e.Value);

    /// <summary>One token's credentials: the token's memory file and the federated backend reading through it.</summary>
    private sealed class Generation : IAsyncDisposable
    {
        private readonly InMemoryTokenFile _tokenFile;

        private Generation(PodCredentialGrant grant, InMemoryTokenFile tokenFile, IBackend backend)
        {
            Grant = grant;
            _tokenFile = tokenFile;
            Backend = backend;
        }

        public PodCredentialGrant Grant { get; }

        public IBackend Backend { get; }

        public static Generation Create(BackendConfig source, int index, PodCredentialGrant grant, BackendServices services, FederationOptions options)
        {
            var tokenFile = new InMemoryTokenFile(grant.Token);
            try
            {
                var forPod = new BackendConfig
                {
                    Name = source.Name,
                    Type = source.Type,
                    MountPath = source.MountPath,
                    Config = source.Config,
                    Namespace = source.Namespace,
                    AllowedNamespaces = source.AllowedNamespaces,
                    Auth = new AuthConfig
                    {
                        Method = source.Auth.Method,
                        Source = source.Auth.Source,
                        Settings = ServiceAccountConventions.SettingsFor(source, grant, tokenFile.Path),
                    },
                };
                var podOptions = new FederationOptions { Audit = options.Audit, IdentityHttpHandler = options.IdentityHttpHandler, Principal = grant.Pod.ToString() };
                return new Generation(grant, tokenFile, CredentialFederation.CreateBackend(forPod, index, services, podOptions));
            }
            catch
            {
                tokenFile.Dispose();
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await Backend.DisposeAsync().ConfigureAwait(false);
            _tokenFile.Dispose();
        }
    }
}
