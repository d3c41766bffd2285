using System.Threading.Channels;
using k8s;
using Microsoft.Extensions.Logging;
using WarpDrive.Cache;
using WarpDrive.Config;

namespace WarpDrive.Node.Kubernetes;

/// <summary>How often the runner reports, re-evaluates and retries.</summary>
public sealed record WarmJobRunnerOptions
{
    /// <summary>How often a running job's entry is applied.</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often every known job is looked at again, with fresh node labels: a job may name a source whose backend
    /// reaches this node's config (copied from its ConfigMap) only after the job's watch event did.
    /// </summary>
    public TimeSpan Resync { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>First delay after a failed list or watch; doubles per failure up to <see cref="MaxBackoff"/>, with jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts to apply a job's final entry before giving up (it then runs again when next seen: a resumed warm is cheap).</summary>
    public int FinalReportAttempts { get; init; } = 5;
}

/// <summary>
/// Runs this node's share of WarpCacheWarm jobs (<c>warpdrive-node csi --kube</c>). Three tasks: a list+watch loop
/// that keeps the latest object of every job, a resync loop, and one run loop that takes queued jobs one at a
/// time and warms them into the node's block cache, applying this node's <c>status.nodes[]</c> entry every
/// <see cref="WarmJobRunnerOptions.ReportInterval"/> and once at the end. A job is queued when its source's backend
/// is in this node's config, its nodeSelector matches this Node's labels, and this node's entry is not yet
/// Succeeded or Failed. Deleting a job cancels its run. API failures are logged and retried, never thrown: the CSI
/// plugin keeps serving. State is guarded by one lock, never held across an await.
/// </summary>
public sealed class WarmJobRunner : IAsyncDisposable
{
    private readonly IKubernetes _api;
    private readonly WarmJobClient _client;
    private readonly Func<NodeConfig> _config;
    private readonly BlockCache? _cache;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly WarmJobRunnerOptions _options;
    private readonly CancellationTokenSource _stop = new();
    private readonly Channel<string> _queue = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _gate = new();
    private readonly Dictionary<string, WarmJob> _jobs = new(StringComparer.Ordinal);
    private readonly HashSet<string> _queued = new(StringComparer.Ordinal);
    private readonly HashSet<string> _finishedUids = new(StringComparer.Ordinal);
    private RunningJob? _running;
    private IDictionary<string, string>? _labels;
    private Task _tasks = Task.CompletedTask;

    private WarmJobRunner(IKubernetes api, string nodeName, Func<NodeConfig> config, BlockCache? cache, ILoggerFactory loggers, WarmJobRunnerOptions options)
    {
        _api = api;
        _client = new WarmJobClient(api, nodeName);
        _config = config;
        _cache = cache;
        _loggers = loggers;
        _logger = loggers.CreateLogger<WarmJobRunner>();
        _options = options;
    }

    /// <param name="client">Owned by the runner from here on.</param>
    /// <param name="config">The node config as of now (it changes on reload).</param>
    /// <param name="cache">The node's block cache; null when the cache is disabled (jobs for this node then fail, saying so).</param>
    public static WarmJobRunner Start(IKubernetes client, string nodeName, Func<NodeConfig> config, BlockCache? cache, ILoggerFactory loggers, WarmJobRunnerOptions? options = null)
    {
        var runner = new WarmJobRunner(client, nodeName, config, cache, loggers, options ?? new WarmJobRunnerOptions());
        var token = runner._stop.Token;
        runner._tasks = Task.WhenAll(
            Task.Run(() => runner.WatchLoopAsync(token), CancellationToken.None),
            Task.Run(() => runner.ResyncLoopAsync(token), CancellationToken.None),
            Task.Run(() => runner.RunLoopAsync(token), CancellationToken.None));
        runner._logger.LogInformation("running WarpCacheWarm jobs for node {Node}", nodeName);
        return runner;
    }

    /// <summary>Cancels the job in progress (its entry stays Running, so it resumes after a restart) and stops the loops.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        try
        {
            await _tasks.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _api.Dispose();
    }

    private async Task WatchLoopAsync(CancellationToken cancellationToken)
    {
        var backoff = _options.InitialBackoff;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await RefreshLabelsAsync(cancellationToken).ConfigureAwait(false);
                var (items, version) = await _client.ListAsync(cancellationToken).ConfigureAwait(false);
                ReplaceAll(items);
                backoff = _options.InitialBackoff;
                while (!cancellationToken.IsCancellationRequested)
                {
                    Exception? watchError = null;
                    var events = 0;
                    var started = Environment.TickCount64;
                    await foreach (var (type, job) in _client.WatchAsync(version, e => watchError = e, cancellationToken).ConfigureAwait(false))
                    {
                        events++;
                        if (watchError is not null)
                        {
                            break;
                        }

                        if (job?.Metadata is null)
                        {
                            continue;
                        }

                        version = job.Metadata.ResourceVersion ?? version;
                        if (type is WatchEventType.Added or WatchEventType.Modified)
                        {
                            Upsert(job);
                        }
                        else if (type == WatchEventType.Deleted)
                        {
                            Remove(job);
                        }
                    }

                    if (watchError is not null)
                    {
                        // 410 Gone (version too old) or another Status event: only a new list catches up.
                        _logger.LogInformation("warm jobs: watch ended with {Error}; listing again", watchError.Message);
                        break;
                    }

                    if (events == 0 && Environment.TickCount64 - started < 1000)
                    {
                        // A watch that closes at once, again and again (a proxy, a misconfigured server): do not spin.
                        await Task.Delay(Jittered(_options.InitialBackoff), cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var delay = Jittered(backoff);
                _logger.LogWarning("warm jobs: list/watch failed ({Error}); listing again in {Delay:0.0}s", e.Message, delay.TotalSeconds);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
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

    private async Task ResyncLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.Resync);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                await RefreshLabelsAsync(cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    foreach (var job in _jobs.Values)
                    {
                        EvaluateLocked(job);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RefreshLabelsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var labels = await _client.NodeLabelsAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _labels, labels);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Without labels only jobs with no nodeSelector apply; the next resync tries again.
            _logger.LogWarning("warm jobs: cannot read Node {Node} ({Error}); jobs with a nodeSelector wait", _client.NodeName, e.Message);
        }
    }

    private void ReplaceAll(IList<WarmJob> items)
    {
        lock (_gate)
        {
            var listed = items.Select(j => j.Key).ToHashSet(StringComparer.Ordinal);
            foreach (var gone in _jobs.Values.Where(j => !listed.Contains(j.Key)).ToList())
            {
                RemoveLocked(gone);
            }

            // Jobs deleted while no watch was open would otherwise keep their uids forever.
            var live = items.Select(j => j.Metadata.Uid).ToHashSet(StringComparer.Ordinal);
            _finishedUids.RemoveWhere(uid => !live.Contains(uid));
            foreach (var job in items)
            {
                UpsertLocked(job);
            }
        }
    }

    private void Upsert(WarmJob job)
    {
        lock (_gate)
        {
            UpsertLocked(job);
        }
    }

    private void Remove(WarmJob job)
    {
        lock (_gate)
        {
            RemoveLocked(job);
        }
    }

    private void UpsertLocked(WarmJob job)
    {
        if (_jobs.TryGetValue(job.Key, out var old) && old.Metadata.Uid != job.Metadata.Uid)
        {
            RemoveLocked(old); // deleted and created again under the same name between two observations
        }

        _jobs[job.Key] = job;
        EvaluateLocked(job);
    }

    private void RemoveLocked(WarmJob job)
    {
        _jobs.Remove(job.Key);
        _queued.Remove(job.Key);
        _finishedUids.Remove(job.Metadata.Uid);
        if (_running is { } running && running.Key == job.Key)
        {
            _logger.LogInformation("warm job {Key} was deleted: stopping its run", job.Key);
            running.Cancel.Cancel();
        }
    }

    private void EvaluateLocked(WarmJob job)
    {
        if (_queued.Contains(job.Key)
            || (_running is { } running && running.Key == job.Key && running.Uid == job.Metadata.Uid)
            || !IsMineLocked(job))
        {
            return;
        }

        _queued.Add(job.Key);
        _queue.Writer.TryWrite(job.Key);
    }

    private bool IsMineLocked(WarmJob job) =>
        !_finishedUids.Contains(job.Metadata.Uid)
        && !WarmNodePhases.IsFinished(WarmJobSelection.OwnEntry(job, _client.NodeName)?.Phase)
        && WarmJobSelection.SelectsNode(job, Volatile.Read(ref _labels))
        && WarmJobSelection.Backend(job, _config()) is not null;

    private async Task RunLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var key in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                RunningJob running;
                WarmJob job;
                NodeConfig config;
                BackendConfig backend;
                lock (_gate)
                {
                    // Dequeued keys are looked at again: the job may have changed, finished or gone meanwhile.
                    if (!_queued.Remove(key) || !_jobs.TryGetValue(key, out job!) || !IsMineLocked(job))
                    {
                        continue;
                    }

                    config = _config();
                    backend = WarmJobSelection.Backend(job, config)!;
                    running = new RunningJob(key, job.Metadata.Uid, CancellationTokenSource.CreateLinkedTokenSource(cancellationToken));
                    _running = running;
                }

                var reported = false;
                try
                {
                    reported = await RunOneAsync(job, backend, config, running.Cancel).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (running.Cancel.IsCancellationRequested)
                {
                    _logger.LogInformation("warm job {Key}: run stopped", key);
                }
                catch (Exception e)
                {
                    // Only the type: a message from an unexpected place is not known to be free of secrets.
                    _logger.LogError("warm job {Key}: run broke with an unexpected {Type}", key, e.GetType().Name);
                }
                finally
                {
                    lock (_gate)
                    {
                        _running = null;
                        if (reported)
                        {
                            _finishedUids.Add(running.Uid);
                        }
                    }

                    running.Cancel.Dispose();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <returns>True once the final entry was applied.</returns>
    private async Task<bool> RunOneAsync(WarmJob job, BackendConfig backend, NodeConfig config, CancellationTokenSource cancel)
    {
        var token = cancel.Token;
        var run = new WarmJobRun(_client.NodeName);
        _logger.LogInformation("warm job {Key}: warming {Count} path(s) of backend {Backend}", job.Key, job.Spec!.Paths.Count, backend.Name);
        // Running is applied before anything is fetched, so the operator's startTime is right.
        if (!await ReportAsync(job, run.Snapshot(), token).ConfigureAwait(false))
        {
            return false;
        }

        var execution = run.ExecuteAsync(job, backend, config, _cache, _loggers, token);
        try
        {
            using var timer = new PeriodicTimer(_options.ReportInterval);
            while (!execution.IsCompleted)
            {
                var tick = timer.WaitForNextTickAsync(token).AsTask();
                if (await Task.WhenAny(execution, tick).ConfigureAwait(false) != execution && !execution.IsCompleted
                    && !await ReportAsync(job, run.Snapshot(), token).ConfigureAwait(false))
                {
                    await cancel.CancelAsync().ConfigureAwait(false); // the job is gone
                }
            }
        }
        finally
        {
            // The cache must not be closed under a warm in progress: never return before it ended.
            await ((Task)execution).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        var final = await execution.ConfigureAwait(false);
        _logger.LogInformation("warm job {Key}: {Phase}, {Done}/{Total} files, {Bytes} bytes downloaded{Error}", job.Key, final.Phase,
            final.FilesDone, final.FilesTotal, final.BytesDone, final.Error is null ? "" : ": " + final.Error);
        var delay = TimeSpan.FromSeconds(1);
        for (var attempt = 1; attempt <= _options.FinalReportAttempts; attempt++)
        {
            try
            {
                return await _client.ApplyEntryAsync(job, final, token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _logger.LogWarning("warm job {Key}: reporting the final entry failed ({Error}), attempt {Attempt}", job.Key, e.Message, attempt);
                await Task.Delay(Jittered(delay), token).ConfigureAwait(false);
                delay *= 2;
            }
        }

        return false;
    }

    /// <returns>False when the job is gone; other failures are logged and the run goes on.</returns>
    private async Task<bool> ReportAsync(WarmJob job, WarmNodeEntry entry, CancellationToken cancellationToken)
    {
        try
        {
            if (await _client.ApplyEntryAsync(job, entry, cancellationToken).ConfigureAwait(false))
            {
                return true;
            }

            _logger.LogInformation("warm job {Key} no longer exists: stopping its run", job.Key);
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _logger.LogWarning("warm job {Key}: progress report failed ({Error})", job.Key, e.Message);
            return true;
        }
    }

    private static TimeSpan Jittered(TimeSpan delay) => delay * (0.8 + (Random.Shared.NextDouble() * 0.4));

    private sealed record RunningJob(string Key, string Uid, CancellationTokenSource Cancel);
}
