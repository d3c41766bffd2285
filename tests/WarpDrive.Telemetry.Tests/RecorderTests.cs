using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Telemetry.Sinks;

namespace WarpDrive.Telemetry.Tests;

public sealed class RecorderTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Test]
    public async Task AStalledHttpSinkDoesNotBlockRecordAndEveryDropIsCounted()
    {
        var release = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var server = new LoopbackIngestServer((_, _) => release.Task);
        var options = new AccessRecorderOptions { QueueSize = 1000, BatchSize = 50, FlushInterval = TimeSpan.FromMilliseconds(20), ShutdownTimeout = TimeSpan.FromSeconds(1) };
        var recorder = new AccessRecorder(new HttpSink(new HttpSinkOptions(server.BaseUrl) { MaxRetries = 0, RequestTimeout = Timeout.InfiniteTimeSpan }), options, NullLogger.Instance);
        long countedDrops = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == recorder && instrument.Name == AccessRecorder.DroppedCounterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref countedDrops, value));
        listener.Start();
        try
        {
            recorder.Record(Events.Read("first"));
            Assert.That(await server.RequestArrived.WaitAsync(Patience), Is.True, "the first batch reached the server, which now holds it");
            var acceptedBefore = recorder.Accepted;

            const int Calls = 1_000_000;
            var e = Events.Read("train/shard-0001.tar");
            for (var i = 0; i < Calls; i++)
            {
                recorder.Record(e);
            }

            var acceptedDuringStall = recorder.Accepted - acceptedBefore;
            Assert.Multiple(() =>
            {
                Assert.That(acceptedDuringStall, Is.LessThanOrEqualTo(options.QueueSize), "only what fits the queue was taken");
                Assert.That(recorder.DroppedQueueFull, Is.EqualTo(Calls - acceptedDuringStall), "every event not queued is counted");
                Assert.That(Interlocked.Read(ref countedDrops), Is.EqualTo(recorder.DroppedQueueFull), "the metric counts the same drops");
                Assert.That(server.Received, Has.Count.EqualTo(1), "the sink is still stalled on the first batch");
            });
        }
        finally
        {
            await recorder.DisposeAsync(); // gives up on the stalled sink after ShutdownTimeout
            release.TrySetResult(202);
        }
    }

    [Test]
    public async Task FullBatchesGoAtOnceAndARemainderGoesAfterTheFlushInterval()
    {
        using var server = new LoopbackIngestServer((_, _) => Task.FromResult(202));
        var options = new AccessRecorderOptions { BatchSize = 10, FlushInterval = TimeSpan.FromMilliseconds(300) };
        await using var recorder = new AccessRecorder(new HttpSink(new HttpSinkOptions(server.BaseUrl)), options, NullLogger.Instance);

        for (var i = 0; i < 25; i++)
        {
            recorder.Record(Events.Read($"f{i:D2}"));
        }

        for (var i = 0; i < 3; i++)
        {
            Assert.That(await server.RequestArrived.WaitAsync(Patience), Is.True, $"batch {i} arrived without closing the recorder");
        }

        var sizes = server.Received.Select(r => Events.OfIngestBody(r.Body).Count).ToList();
        var paths = server.Received.SelectMany(r => Events.OfIngestBody(r.Body)).Select(e => e.GetProperty("path").GetString()).Order().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(sizes, Is.EquivalentTo(new[] { 10, 10, 5 }));
            Assert.That(paths, Is.EqualTo(Enumerable.Range(0, 25).Select(i => $"f{i:D2}")));
            // The server sees the last batch a moment before the recorder has read its answer and counted it.
            Assert.That(() => recorder.Delivered, Is.EqualTo(25).After(5000, 10));
        });
    }

    [Test]
    public async Task DisposingSendsWhatIsQueued()
    {
        var output = new StringWriter();
        var recorder = new AccessRecorder(new StdoutSink(output), new AccessRecorderOptions { BatchSize = 1000, FlushInterval = TimeSpan.FromHours(1) }, NullLogger.Instance);
        for (var i = 0; i < 7; i++)
        {
            recorder.Record(Events.Read($"f{i}"));
        }

        await recorder.DisposeAsync();

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines.Select(l => TelemetryJson.Deserialize(l).Path), Is.EqualTo(Enumerable.Range(0, 7).Select(i => $"f{i}")));
    }

    [Test]
    public async Task MetadataOpsAreSampledAndReadsAlwaysKept()
    {
        var output = new StringWriter();
        var recorder = new AccessRecorder(new StdoutSink(output), new AccessRecorderOptions { SampleMetadataOps = 0.25 }, NullLogger.Instance);
        for (var i = 0; i < 1000; i++)
        {
            recorder.Record(Events.Stat($"s{i}"));
            recorder.Record(Events.Read($"r{i}"));
            recorder.Record(Events.Stat($"l{i}") with { Op = AccessOp.List });
        }

        await recorder.DisposeAsync();

        var events = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(TelemetryJson.Deserialize).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(events.Count(e => e.Op == AccessOp.Read), Is.EqualTo(1000));
            Assert.That(events.Count(e => e.Op is AccessOp.Stat or AccessOp.List), Is.EqualTo(500), "a quarter of 2000 metadata ops");
        });
    }

    [Test]
    public async Task RollupSendsOneSummaryPerUserPathOpAndMinute()
    {
        var output = new StringWriter();
        var recorder = new AccessRecorder(new StdoutSink(output), new AccessRecorderOptions { Rollup = true, FlushInterval = TimeSpan.FromMilliseconds(50) }, NullLogger.Instance);
        for (var i = 0; i < 100; i++)
        {
            recorder.Record(Events.Read("a.bin", 1000, ts: Events.Noon.AddSeconds(i % 60)));
        }

        for (var i = 0; i < 5; i++)
        {
            recorder.Record(Events.Read("a.bin", 10, user: "bob", ts: Events.Noon.AddSeconds(1)));
        }

        recorder.Record(Events.Read("a.bin", 7, ts: Events.Noon.AddMinutes(1)));

        // Minutes long past are closed: summaries arrive while the recorder runs.
        await WaitUntilAsync(() => output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 3);
        await recorder.DisposeAsync();

        var events = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(TelemetryJson.Deserialize).ToList();
        Assert.That(events, Has.Count.EqualTo(3));
        var alice = events.Single(e => e.User == "alice" && e.Timestamp == Events.Noon);
        var bob = events.Single(e => e.User == "bob");
        var later = events.Single(e => e.Timestamp == Events.Noon.AddMinutes(1));
        Assert.Multiple(() =>
        {
            Assert.That((alice.Count, alice.BytesRead), Is.EqualTo((100, 100_000L)));
            Assert.That((bob.Count, bob.BytesRead), Is.EqualTo((5, 50L)));
            Assert.That((later.Count, later.BytesRead), Is.EqualTo((1, 7L)));
        });
    }

    [Test]
    public async Task ABatchTheSinkRefusesIsCountedAsDropped()
    {
        using var server = new LoopbackIngestServer((_, _) => Task.FromResult(400));
        var recorder = new AccessRecorder(new HttpSink(new HttpSinkOptions(server.BaseUrl)), new AccessRecorderOptions { BatchSize = 4 }, NullLogger.Instance);
        for (var i = 0; i < 4; i++)
        {
            recorder.Record(Events.Read($"f{i}"));
        }

        await recorder.DisposeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(recorder.DroppedSinkFailed, Is.EqualTo(4));
            Assert.That(recorder.Delivered, Is.Zero);
            Assert.That(server.Received, Has.Count.EqualTo(1), "a 400 is not retried");
        });
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "condition not reached in time");
            await Task.Delay(20);
        }
    }
}
