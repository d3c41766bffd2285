using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using WarpDrive.Telemetry.Identity;
using WarpDrive.Telemetry.Sinks;

namespace WarpDrive.Telemetry;

/// <summary>
/// The node's access telemetry: <see cref="Record"/> samples and enqueues without waiting (a full queue drops the
/// incoming event and counts it); one background pump resolves callers, optionally rolls events up per minute, and
/// hands batches of up to BatchSize to the sink, sending a partial batch once its first event waited FlushInterval.
/// A slow or dead sink therefore only ever fills the queue; it never slows a FUSE request. See README.md.
/// </summary>
public sealed class AccessRecorder : IAccessRecorder, IAsyncDisposable
{
    public const string MeterName = "WarpDrive.Telemetry";
    public const string DroppedCounterName = "warpdrive_telemetry_dropped_events_total";

    private static readonly KeyValuePair<string, object?> QueueFull = new("reason", "queue_full");
    private static readonly KeyValuePair<string, object?> SinkFailed = new("reason", "sink_failed");

    private readonly Channel<AccessEvent> _queue;
    private readonly ITelemetrySink _sink;
    private readonly ICallerResolver? _callers;
    private readonly AccessRecorderOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly MetadataSampler _sampler;
    private readonly RollupAggregator? _rollup;
    private readonly Meter _meter;
    private readonly Counter<long> _dropped;
    private readonly CancellationTokenSource _abort = new();
    private readonly Task _pump;
    private long _accepted;
    private long _droppedQueueFull;
    private long _droppedSinkFailed;
    private long _delivered;
    private int _disposed;

    public AccessRecorder(ITelemetrySink sink, AccessRecorderOptions options, ILogger logger, ICallerResolver? callers = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _sink = sink;
        _options = options;
        _logger = logger;
        _callers = callers;
        _time = time ?? TimeProvider.System;
        _sampler = new MetadataSampler(options.SampleMetadataOps);
        _rollup = options.Rollup ? new RollupAggregator() : null;
        _queue = Channel.CreateBounded<AccessEvent>(new BoundedChannelOptions(options.QueueSize)
        {
            // Wait + TryWrite: a full queue makes TryWrite return false at once, so the new event is the one dropped.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
        _meter = new Meter(new MeterOptions(MeterName) { Scope = this });
        _dropped = _meter.CreateCounter<long>(DroppedCounterName, description: "Access events dropped: queue full (sink too slow) or sink failed after retries.");
        // Zero series from the start, so dashboards and alerts see the metric before the first drop.
        _dropped.Add(0, QueueFull);
        _dropped.Add(0, SinkFailed);
        _pump = Task.Run(PumpAsync);
    }

    /// <summary>The meter of this recorder's instruments (its Scope is this recorder).</summary>
    public Meter Meter => _meter;

    /// <summary>Events queued since start.</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Events dropped because the queue was full.</summary>
    public long DroppedQueueFull => Interlocked.Read(ref _droppedQueueFull);

    /// <summary>Events (after rollup) the sink failed to take.</summary>
    public long DroppedSinkFailed => Interlocked.Read(ref _droppedSinkFailed);

    /// <summary>Events (after rollup) the sink took.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    public void Record(in AccessEvent accessEvent)
    {
        if (!_sampler.Keep(accessEvent.Op))
        {
            return;
        }

        if (accessEvent.User is null)
        {
            _callers?.Observe(accessEvent.CallerPid); // before the pump can see the event
        }

        if (_queue.Writer.TryWrite(accessEvent))
        {
            Interlocked.Increment(ref _accepted);
            return;
        }

        Interlocked.Increment(ref _droppedQueueFull);
        _dropped.Add(1, QueueFull);
    }

    /// <summary>Stops taking events, sends what is queued (and every rollup bucket) within ShutdownTimeout, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _queue.Writer.TryComplete();
        try
        {
            await _pump.WaitAsync(_options.ShutdownTimeout, _time);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning("telemetry: the sink did not take the remaining events within {Timeout}; they are dropped", _options.ShutdownTimeout);
            await _abort.CancelAsync();
            await _pump.ContinueWith(_ => { }, TaskScheduler.Default);
        }

        await _sink.DisposeAsync();
        _abort.Dispose();
        _meter.Dispose();
    }

    private async Task PumpAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<AccessEvent>(_options.BatchSize);
        var batchStarted = DateTimeOffset.MinValue;
        var token = _abort.Token;
        try
        {
            while (true)
            {
                var now = _time.GetUtcNow();
                var timeout = batch.Count > 0 ? Max(TimeSpan.Zero, batchStarted + _options.FlushInterval - now) : _options.FlushInterval;
                var wait = await WaitForEventsAsync(reader, timeout, token);
                while ((_rollup is not null || batch.Count < _options.BatchSize) && reader.TryRead(out var e))
                {
                    e = await WithCallerAsync(e, token);
                    if (_rollup is null)
                    {
                        batch.Add(e);
                    }
                    else
                    {
                        _rollup.Add(e);
                    }
                }

                now = _time.GetUtcNow();
                if (_rollup is not null)
                {
                    // Summaries of finished minutes (every minute once the recorder is closing).
                    batch.AddRange(_rollup.Drain(wait == Wait.Completed ? null : now));
                }

                if (batch.Count > 0 && batchStarted == DateTimeOffset.MinValue)
                {
                    batchStarted = now;
                }

                var due = batch.Count >= _options.BatchSize ||
                          (batch.Count > 0 && (wait != Wait.MoreData || now - batchStarted >= _options.FlushInterval));
                if (due)
                {
                    await SendAsync(batch, token);
                    batch.Clear();
                    batchStarted = DateTimeOffset.MinValue;
                }

                if (wait == Wait.Completed && batch.Count == 0 && (_rollup?.Pending ?? 0) == 0)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private enum Wait
    {
        MoreData,
        Timeout,
        Completed,
    }

    private async Task<Wait> WaitForEventsAsync(ChannelReader<AccessEvent> reader, TimeSpan timeout, CancellationToken token)
    {
        if (reader.TryPeek(out _))
        {
            return Wait.MoreData;
        }

        if (reader.Completion.IsCompleted)
        {
            return Wait.Completed;
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(token);
        timer.CancelAfter(timeout);
        try
        {
            return await reader.WaitToReadAsync(timer.Token) ? Wait.MoreData : Wait.Completed;
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            return Wait.Timeout;
        }
    }

    private async ValueTask<AccessEvent> WithCallerAsync(AccessEvent e, CancellationToken token)
    {
        if (e.User is not null || _callers is null)
        {
            return e.Count <= 0 ? e with { Count = 1 } : e;
        }

        CallerIdentity caller;
        try
        {
            caller = await _callers.ResolveAsync(e.CallerPid, e.CallerUid, token);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogDebug(ex, "telemetry: caller of pid {Pid} not resolved", e.CallerPid);
            caller = new CallerIdentity(e.CallerUid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return e with
        {
            User = caller.User,
            Namespace = caller.Namespace,
            Pod = caller.Pod,
            ServiceAccount = caller.ServiceAccount,
            Count = e.Count <= 0 ? 1 : e.Count,
        };
    }

    private async Task SendAsync(List<AccessEvent> batch, CancellationToken token)
    {
        for (var start = 0; start < batch.Count; start += _options.BatchSize)
        {
            var part = batch.GetRange(start, Math.Min(_options.BatchSize, batch.Count - start));
            try
            {
                await _sink.WriteAsync(part, token);
                Interlocked.Add(ref _delivered, part.Count);
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                Interlocked.Add(ref _droppedSinkFailed, part.Count);
                _dropped.Add(part.Count, SinkFailed);
                _logger.LogWarning("telemetry: a batch of {Count} events was dropped: {Error}", part.Count, e.Message);
            }
        }
    }
}
