using System.Diagnostics;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.Cache;
using WarpDrive.Config;
using BackendConfig = WarpDrive.Config.BackendConfig;

namespace WarpDrive.Node.Kubernetes;

/// <summary>
/// One run of one warm job on this node: a backend created for the run from the node config (credentials by the
/// backend's auth method, as FuseTree does), then one <see cref="BlockCache.WarmAsync"/> per path, in order, sharing
/// spec.maxSize. Progress arrives on the cache's worker threads; <see cref="Snapshot"/> is read by the reporter.
/// Every error message it produces is built from messages that never carry credentials.
/// </summary>
public sealed class WarmJobRun : IProgress<WarmProgress>
{
    private readonly string _node;
    private readonly Lock _gate = new();
    private readonly Stopwatch _clock = new();
    private long _filesDone;
    private long _filesTotal;
    private long _bytesDone;
    private WarmProgress? _currentPath;

    public WarmJobRun(string node) => _node = node;

    /// <summary>The Running entry as of now: paths finished plus the one in progress.</summary>
    public WarmNodeEntry Snapshot()
    {
        lock (_gate)
        {
            var current = _currentPath;
            return new WarmNodeEntry
            {
                Node = _node,
                Phase = WarmNodePhases.Running,
                FilesDone = _filesDone + (current?.FilesDone ?? 0),
                FilesTotal = _filesTotal + (current?.FilesTotal ?? 0),
                BytesDone = _bytesDone + (current?.BytesDownloaded ?? 0),
                MbPerSecond = Math.Round(current?.MegabytesPerSecond ?? 0, 2),
            };
        }
    }

    void IProgress<WarmProgress>.Report(WarmProgress value)
    {
        lock (_gate)
        {
            // Workers report concurrently and may arrive out of order: never step back within a path.
            if (_currentPath is null || value.FilesDone >= _currentPath.FilesDone)
            {
                _currentPath = value;
            }
        }
    }

    /// <summary>Runs the job to its final entry (Succeeded or Failed). Throws only <see cref="OperationCanceledException"/>.</summary>
    public async Task<WarmNodeEntry> ExecuteAsync(WarmJob job, BackendConfig backendConfig, NodeConfig config, BlockCache? cache, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        _clock.Start();
        var spec = job.Spec!;
        if (cache is null)
        {
            return Failed($"the block cache is disabled on node {_node}: there is nothing to warm into");
        }

        if (!WarmJobSelection.TryMaxBytes(job, out var maxBytes))
        {
            return Failed($"spec.maxSize \"{spec.MaxSize}\" is not a Kubernetes quantity (e.g. 500Gi)");
        }

        if (backendConfig.Auth.Source == AuthSources.Pod)
        {
            return Failed($"source {spec.Source} reads with each pod's own identity (auth.source: pod): the node has no identity of its own to warm it with");
        }

        IBackend backend;
        try
        {
            backend = WarpDrive.Auth.CredentialFederation.CreateBackend(config, backendConfig, new BackendServices { LoggerFactory = loggers });
        }
        catch (Exception e) when (e is ConfigException or ArgumentException or BackendException)
        {
            return Failed($"cannot open source {spec.Source}: {e.Message}");
        }

        await using (backend.ConfigureAwait(false))
        {
            if (spec.Team is { Length: > 0 } team)
            {
                try
                {
                    if (await WarmQuotaCheck.RefusalAsync(config.Telemetry, team, backend, spec.Paths, maxBytes, cancellationToken).ConfigureAwait(false) is { } refusal)
                    {
                        return Failed(refusal);
                    }
                }
                catch (Exception e) when (e is BackendException or IOException)
                {
                    loggers.CreateLogger<WarmJobRun>().LogWarning("warm job {Key}: quota check failed: {Error}", job.Key, e.Message);
                    return Failed($"quota check of team \"{team}\" for source {spec.Source}: {Describe(e)}");
                }
            }

            var workers = Math.Clamp(spec.Workers ?? new WarmOptions().Workers, 1, 256);
            foreach (var path in spec.Paths)
            {
                var prefix = path.Trim('/');
                long left;
                lock (_gate)
                {
                    left = maxBytes - _bytesDone;
                }

                if (left <= 0)
                {
                    break; // spec.maxSize reached: the job did what it was asked
                }

                WarmProgress result;
                try
                {
                    result = await cache.WarmAsync(backend, prefix, new WarmOptions { Workers = workers, MaxBytes = left }, this, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is BackendException or IOException)
                {
                    loggers.CreateLogger<WarmJobRun>().LogWarning("warm job {Key}: warming {Path} failed: {Error}", job.Key, path, e.Message);
                    return Failed($"warming path \"{path}\" of source {spec.Source}: {Describe(e)}");
                }

                if (result.FilesTotal == 0)
                {
                    return Failed($"path \"{path}\" matched no files in source {spec.Source}");
                }

                lock (_gate)
                {
                    _filesDone += result.FilesDone;
                    _filesTotal += result.FilesTotal;
                    _bytesDone += result.BytesDownloaded;
                    _currentPath = null;
                }

                if (result.CapReached)
                {
                    break;
                }
            }
        }

        return Final(WarmNodePhases.Succeeded, null);
    }

    /// <summary>
    /// What a status may say about a failure: a backend's message is our own safe text ("backend: read 'p' failed:
    /// access denied"); a local I/O error's is .NET's, so it gets a sentence of ours and the log keeps the detail.
    /// </summary>
    private static string Describe(Exception error) => error is BackendException
        ? error.Message
        : "a local I/O error on the node (the node agent's log has the details)";

    private WarmNodeEntry Failed(string error) =>
        Final(WarmNodePhases.Failed, error.Length <= WarmNodeEntry.MaxErrorLength ? error : error[..WarmNodeEntry.MaxErrorLength]);

    private WarmNodeEntry Final(string phase, string? error)
    {
        lock (_gate)
        {
            var seconds = _clock.Elapsed.TotalSeconds;
            return new WarmNodeEntry
            {
                Node = _node,
                Phase = phase,
                FilesDone = _filesDone,
                FilesTotal = _filesTotal,
                BytesDone = _bytesDone,
                MbPerSecond = seconds <= 0 ? 0 : Math.Round(_bytesDone / 1048576.0 / seconds, 2),
                Error = error,
            };
        }
    }
}
