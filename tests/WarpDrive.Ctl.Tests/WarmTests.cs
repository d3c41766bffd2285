using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Cache;

namespace WarpDrive.Ctl.Tests;

public sealed class WarmTests
{
    private Sandbox _sandbox = null!;

    [SetUp]
    public void SetUp()
    {
        _sandbox = new Sandbox();
        _sandbox.WriteSource("data/a.bin", 300_000);
        _sandbox.WriteSource("data/b.bin", 65_536);
        _sandbox.WriteSource("data/sub/c.bin", 1_000_000);
        _sandbox.WriteSource("data/sub/empty.bin", 0);
        _sandbox.WriteSource("other/not-this.bin", 100_000);
    }

    [TearDown]
    public void TearDown() => _sandbox.Dispose();

    [Test]
    public async Task WarmsAPrefixShowsProgressAndASecondRunSkipsEverything()
    {
        var first = await CtlProcess.RunAsync("warm", "--config", _sandbox.ConfigPath, "--backend", "src", "--prefix", "data");
        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(first.Stdout, Does.Contain("4/4 files complete (1 already cached)"), "the empty file has no block to fetch");
            Assert.That(first.Stderr, Does.Contain("warm: 4/4 files"), "a plain progress line on stderr when it is not a terminal");
            Assert.That(first.Stderr, Does.Contain("MB/s").And.Contain("ETA"));
            Assert.That(first.Stderr + first.Stdout, Does.Not.Contain("\u001b["), "no ANSI escapes when not a terminal");
        });

        var second = await CtlProcess.RunAsync("warm", "--config", _sandbox.ConfigPath, "--backend", "src", "--prefix", "data", "--format", "json");
        Assert.That(second.ExitCode, Is.Zero, second.ToString());
        var summary = JsonDocument.Parse(second.Stdout).RootElement[0];
        Assert.Multiple(() =>
        {
            Assert.That(summary.GetProperty("files_total").GetInt32(), Is.EqualTo(4));
            Assert.That(summary.GetProperty("files_skipped").GetInt32(), Is.EqualTo(4));
            Assert.That(summary.GetProperty("bytes_downloaded").GetInt64(), Is.Zero);
        });

        var stats = await CtlProcess.RunAsync("stats", "--cache-dir", _sandbox.CachePath, "--format", "json");
        Assert.That(stats.ExitCode, Is.Zero, stats.ToString());
        var cache = JsonDocument.Parse(stats.Stdout).RootElement[0];
        Assert.Multiple(() =>
        {
            Assert.That(cache.GetProperty("objects").GetInt64(), Is.EqualTo(3), "the three non-empty files of data/ (an empty file has nothing to cache; other/ was not warmed)");
            Assert.That(cache.GetProperty("size_bytes").GetInt64(), Is.EqualTo(300_000 + 65_536 + 1_000_000));
            Assert.That(cache.GetProperty("hits").ValueKind, Is.EqualTo(JsonValueKind.Null), "counters live only in an agent");
        });
    }

    [Test]
    public async Task ATeamWarmPastItsHardQuotaIsRefusedBeforeAnythingIsFetched()
    {
        await using var server = await ControlPlaneServer.StartAsync(_sandbox);
        await server.SendAsync(HttpMethod.Put, "api/v1/quota", new { team = "vision", backend = "src", soft_bytes = 500_000, hard_bytes = 1_000_000 }, server.AdminTokenFile);
        string[] warm = ["warm", "--config", _sandbox.ConfigPath, "--backend", "src", "--prefix", "data", "--team", "vision",
            "--server", server.Server, "--token-file", server.ReaderTokenFile];

        var refused = await CtlProcess.RunAsync(warm);
        var refusedStats = await CtlProcess.RunAsync("stats", "--cache-dir", _sandbox.CachePath, "--format", "json");
        var capped = await CtlProcess.RunAsync([.. warm, "--max-size", "900000"]);

        Assert.Multiple(() =>
        {
            Assert.That(refused.ExitCode, Is.EqualTo(1), refused.ToString());
            Assert.That(refused.Stderr, Does.Contain("warm refused by team vision's quota on src").And.Contain("1.3MiB"), "the prefix holds 1,365,536 bytes");
            Assert.That(refusedStats.ExitCode == 1 || JsonDocument.Parse(refusedStats.Stdout).RootElement[0].GetProperty("objects").GetInt64() == 0, Is.True,
                $"nothing was cached by the refused warm: {refusedStats}");
            Assert.That(capped.ExitCode, Is.Zero, "a warm capped below the hard limit is allowed: " + capped);
            Assert.That(capped.Stderr, Does.Contain("quota check for team vision on src"));
        });

        var stopped = await server.TerminateAsync();
        Assert.That(stopped.ExitCode, Is.Zero, "serve stops cleanly on SIGTERM (as under systemd or the kubelet): " + stopped);
    }

    [Test]
    public async Task MaxSizeStopsTheRunAndTheNextRunResumes()
    {
        var capped = await CtlProcess.RunAsync("warm", "--config", _sandbox.ConfigPath, "--backend", "src", "--prefix", "data", "--max-size", "256KiB", "--workers", "1", "--format", "json");
        Assert.That(capped.ExitCode, Is.Zero, capped.ToString());
        var first = JsonDocument.Parse(capped.Stdout).RootElement[0];
        Assert.Multiple(() =>
        {
            Assert.That(first.GetProperty("cap_reached").GetBoolean(), Is.True);
            Assert.That(first.GetProperty("bytes_downloaded").GetInt64(), Is.InRange(1, 256 * 1024));
        });

        var rest = await CtlProcess.RunAsync("warm", "--config", _sandbox.ConfigPath, "--backend", "src", "--prefix", "data", "--format", "json");
        var second = JsonDocument.Parse(rest.Stdout).RootElement[0];
        Assert.That(second.GetProperty("bytes_downloaded").GetInt64() + first.GetProperty("bytes_downloaded").GetInt64(), Is.EqualTo(1_365_536),
            "the second run fetched exactly what the first left out");
    }

    [Test]
    public async Task CtrlCStopsCleanlyAndTheNextRunResumes()
    {
        // Sparse source files: large enough that the warm is still running when the first progress line appears.
        const long FileSize = 128L << 20;
        for (var i = 0; i < 8; i++)
        {
            using var file = File.Create(Path.Combine(_sandbox.SourceRoot, "data", $"big-{i}.bin"));
            file.SetLength(FileSize);
        }

        await using (var running = CtlProcess.Start(["warm", "--config", _sandbox.ConfigPath, "--backend", "src", "--prefix", "data", "--workers", "1"]))
        {
            await running.WaitForStderrAsync("warm: ");
            running.Interrupt();
            var interrupted = await running.WaitAsync();
            Assert.Multiple(() =>
            {
                Assert.That(interrupted.ExitCode, Is.EqualTo(1), interrupted.ToString());
                Assert.That(interrupted.Stderr, Does.Contain("interrupted; what was fetched stays cached"));
            });
        }

        var resumed = await CtlProcess.RunAsync("warm", "--config", _sandbox.ConfigPath, "--backend", "src", "--prefix", "data", "--format", "json");
        Assert.That(resumed.ExitCode, Is.Zero, resumed.ToString());
        var summary = JsonDocument.Parse(resumed.Stdout).RootElement[0];
        const long Total = (8 * FileSize) + 1_365_536;
        Assert.Multiple(() =>
        {
            Assert.That(summary.GetProperty("files_done").GetInt32(), Is.EqualTo(12));
            Assert.That(summary.GetProperty("bytes_downloaded").GetInt64(), Is.LessThan(Total), "what the interrupted run fetched was kept");
        });
    }

    [Test]
    public async Task ACacheOwnedByARunningAgentIsRefusedWithAClearMessage()
    {
        // Another process holding the cache's RocksDB lock is what a running agent looks like.
        await using (new BlockCache(new BlockCacheOptions(_sandbox.CachePath, 1L << 30) { BlockSize = Sandbox.BlockSize }, NullLogger.Instance))
        {
            var result = await CtlProcess.RunAsync("warm", "--config", _sandbox.ConfigPath, "--backend", "src", "--prefix", "data");
            Assert.Multiple(() =>
            {
                Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
                Assert.That(result.Stderr, Does.Contain("in use by a running agent").And.Contain("Stop the agent").And.Contain("--kube"));
                Assert.That(result.Stderr, Does.Contain("--mount /mnt/warpdrive-test"), "bare metal: warm through the agent's own mount point");
            });
        }
    }

    [Test]
    public async Task AConfigWithSeveralBackendsNeedsBackend()
    {
        var result = await CtlProcess.RunAsync("warm", "--config", _sandbox.ConfigPath, "--prefix", "data");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2));
            Assert.That(result.Stderr, Does.Contain("choose one with --backend (src, dst)"));
        });
    }

    [Test]
    public async Task APrefixThatMatchesNothingFailsNamingIt()
    {
        var result = await CtlProcess.RunAsync("warm", "--config", _sandbox.ConfigPath, "--backend", "src", "--prefix", "datta");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Stderr, Does.Contain("--prefix datta matches nothing in backend 'src'"));
        });
    }

    [Test]
    public async Task StatsWithTheAgentsConfigReadsItsCacheWhenTheAgentIsStopped()
    {
        // The agent's metrics address on a port nothing listens on: a stopped agent.
        var config = Path.Combine(_sandbox.Root, "stopped-agent.yaml");
        File.WriteAllText(config, File.ReadAllText(_sandbox.ConfigPath) + $"\nmetrics:\n  addr: 127.0.0.1:{UnusedPort()}\n");
        var warm = await CtlProcess.RunAsync("warm", "--config", config, "--backend", "src", "--prefix", "data");
        Assert.That(warm.ExitCode, Is.Zero, warm.ToString());

        var stats = await CtlProcess.RunAsync("stats", "--config", config, "--format", "json");

        Assert.That(stats.ExitCode, Is.Zero, stats.ToString());
        var cache = JsonDocument.Parse(stats.Stdout).RootElement[0];
        Assert.Multiple(() =>
        {
            Assert.That(cache.GetProperty("source").GetString(), Is.EqualTo(_sandbox.CachePath));
            Assert.That(cache.GetProperty("size_bytes").GetInt64(), Is.EqualTo(300_000 + 65_536 + 1_000_000));
            Assert.That(stats.Stderr, Does.Contain("not reachable").And.Contain(_sandbox.CachePath));
        });
    }

    private static int UnusedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
