using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace WarpDrive.Node.Kubernetes;

/// <summary>How often the mirror retries and how often it says that it waits.</summary>
public sealed record ConfigMapMirrorOptions
{
    /// <summary>First delay after a failed call or a missing ConfigMap; doubles per failure up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>While the ConfigMap does not exist, a line saying so is logged this often.</summary>
    public TimeSpan WaitLogInterval { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Keeps the node config file a copy of this node's ConfigMap (<c>csi --kube</c>). A DaemonSet cannot mount a
/// per-node ConfigMap (volume names are static), so the agent reads it through the API: GET it (retrying while it
/// does not exist yet), write <c>config.yaml</c> to the config path and <c>sources.yaml</c> beside it, then WATCH it
/// by name from the GET's resourceVersion (the agent may get and watch ConfigMaps, not list them). When a watch
/// ends for any reason (server timeout, 410 Gone, a dropped connection) it GETs again and watches from there. A
/// quiet ConfigMap's own resourceVersion can be older than the server's watch window, so after a 410 the next
/// watch starts at the most recent version instead (no resourceVersion: the server first sends the object as it
/// is now, which is compared like any event); without that, GET and 410 would alternate for ever. A
/// file is replaced only when its text changed, by writing a temp file and renaming it over, so the plugin's
/// <c>ConfigWatcher</c> sees whole files and reloads once per real change. A deleted ConfigMap leaves the last
/// files in place. One loop task does all of it; API and file failures are logged and retried with backoff, never
/// thrown. Config text is never logged.
/// </summary>
public sealed class ConfigMapMirror : IAsyncDisposable
{
    public const string ConfigKey = "config.yaml";
    public const string SourcesKey = "sources.yaml";

    /// <summary>The server ends a watch after this long; the mirror then reads the ConfigMap again.</summary>
    private const int WatchTimeoutSeconds = 300;

    private readonly IKubernetes _api;
    private readonly NodeConfigMapName _source;
    private readonly string _configPath;
    private readonly string _sourcesPath;
    private readonly ILogger _logger;
    private readonly ConfigMapMirrorOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstCopy = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _loop = Task.CompletedTask;
    private int _writes;
    private int _disposed;

    private ConfigMapMirror(IKubernetes api, NodeConfigMapName source, string configPath, ILogger logger, ConfigMapMirrorOptions options)
    {
        _api = api;
        _source = source;
        _configPath = Path.GetFullPath(configPath);
        _sourcesPath = Path.Combine(Path.GetDirectoryName(_configPath)!, SourcesKey);
        _logger = logger;
        _options = options;
    }

    /// <summary>Files replaced so far (<c>config.yaml</c> and <c>sources.yaml</c>); a copy that was already current is not counted.</summary>
    public int Writes => Volatile.Read(ref _writes);

    /// <summary>
    /// Starts mirroring and returns once the config file holds the ConfigMap's <c>config.yaml</c>, however long the
    /// ConfigMap takes to appear. Cancelling <paramref name="cancellationToken"/> stops the wait and the mirror.
    /// </summary>
    /// <param name="api">Owned by the mirror from here on.</param>
    public static async Task<ConfigMapMirror> StartAsync(IKubernetes api, NodeConfigMapName source, string configPath, ILoggerFactory loggers,
        ConfigMapMirrorOptions? options = null, CancellationToken cancellationToken = default)
    {
        var mirror = new ConfigMapMirror(api, source, configPath, loggers.CreateLogger<ConfigMapMirror>(), options ?? new ConfigMapMirrorOptions());
        Directory.CreateDirectory(Path.GetDirectoryName(mirror._configPath)!);
        var token = mirror._stop.Token;
        mirror._loop = Task.Run(() => mirror.RunAsync(token), CancellationToken.None);
        try
        {
            await mirror._firstCopy.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await mirror.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return mirror;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
        _api.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var backoff = _options.InitialBackoff;
        long? lastWaitLog = null;
        var fromLatest = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await GetAsync(cancellationToken).ConfigureAwait(false) is not { } current)
                {
                    if (lastWaitLog is null || Environment.TickCount64 - lastWaitLog >= _options.WaitLogInterval.TotalMilliseconds)
                    {
                        _logger.LogWarning("waiting for ConfigMap {ConfigMap}: it does not exist (yet); the operator writes it for each node its sources select", _source);
                        lastWaitLog = Environment.TickCount64;
                    }

                    await Task.Delay(Jittered(backoff), cancellationToken).ConfigureAwait(false);
                    backoff = Next(backoff);
                    continue;
                }

                lastWaitLog = null;
                Copy(current);
                fromLatest = await WatchAsync(fromLatest ? null : current.Metadata?.ResourceVersion, cancellationToken).ConfigureAwait(false);
                // Only after a watch that worked: a watch refused at once (e.g. RBAC without watch) must back off, not
                // alternate GET and WATCH twice a second on every node.
                backoff = _options.InitialBackoff;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var delay = Jittered(backoff);
                _logger.LogWarning("ConfigMap {ConfigMap}: {Error}; reading it again in {Delay:0.0}s", _source, e.Message, delay.TotalSeconds);
                backoff = Next(backoff);
                try
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <returns>Null when the ConfigMap does not exist.</returns>
    private async Task<V1ConfigMap?> GetAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _api.CoreV1.ReadNamespacedConfigMapAsync(_source.Name, _source.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Follows the ConfigMap from <paramref name="resourceVersion"/> (null: from now) until the watch ends; a dropped connection throws.</summary>
    /// <returns>True when the server said the version is too old (410 Gone).</returns>
    private async Task<bool> WatchAsync(string? resourceVersion, CancellationToken cancellationToken)
    {
        Exception? watchError = null;
        var events = 0;
        var started = Environment.TickCount64;
        var watch = _api.CoreV1.WatchListNamespacedConfigMapAsync(_source.Namespace, allowWatchBookmarks: true, fieldSelector: $"metadata.name={_source.Name}",
            resourceVersion: resourceVersion, timeoutSeconds: WatchTimeoutSeconds, onError: e => watchError = e, cancellationToken: cancellationToken);
        await foreach (var (type, configMap) in watch.ConfigureAwait(false))
        {
            events++;
            if (watchError is not null)
            {
                break;
            }

            if (type is WatchEventType.Added or WatchEventType.Modified)
            {
                Copy(configMap);
            }
            else if (type == WatchEventType.Deleted)
            {
                _logger.LogWarning("ConfigMap {ConfigMap} was deleted: keeping the last config until it is back", _source);
            }
        }

        if (watchError is not null)
        {
            // 410 Gone (the version is too old) or another Status event: only a fresh read catches up.
            _logger.LogInformation("ConfigMap {ConfigMap}: watch ended with {Error}; reading it again", _source, watchError.Message);
            return watchError is KubernetesException { Status.Code: (int)HttpStatusCode.Gone };
        }

        if (events == 0 && Environment.TickCount64 - started < 1000)
        {
            // A watch that closes at once, again and again (a proxy, a misconfigured server): do not spin.
            await Task.Delay(Jittered(_options.InitialBackoff), cancellationToken).ConfigureAwait(false);
        }

        return false;
    }

    private void Copy(V1ConfigMap configMap)
    {
        if (configMap.Data is not { } data || !data.TryGetValue(ConfigKey, out var config))
        {
            _logger.LogWarning("ConfigMap {ConfigMap} has no {Key}: keeping the current config", _source, ConfigKey);
            return;
        }

        if (data.TryGetValue(SourcesKey, out var sources))
        {
            Replace(_sourcesPath, sources);
        }

        // Last: the config file is what the plugin reloads from.
        if (Replace(_configPath, config))
        {
            _logger.LogInformation("node config written from ConfigMap {ConfigMap} (resourceVersion {Version})", _source, configMap.Metadata?.ResourceVersion);
        }

        _firstCopy.TrySetResult();
    }

    /// <returns>False when the file already held <paramref name="text"/>.</returns>
    private bool Replace(string path, string text)
    {
        if (File.Exists(path) && File.ReadAllText(path) == text)
        {
            return false;
        }

        // Same directory, so the rename is atomic: a reader sees the old file or the new one, never a part.
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        File.WriteAllText(temporary, text);
        File.Move(temporary, path, overwrite: true);
        Interlocked.Increment(ref _writes);
        return true;
    }

    private TimeSpan Next(TimeSpan backoff) => TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));

    private static TimeSpan Jittered(TimeSpan delay) => delay * (0.8 + (Random.Shared.NextDouble() * 0.4));
}
