using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace WarpDrive.Mount.Tests;

/// <summary>The block cache survives a kill -9 of the agent in the middle of fetching: still warm, never torn.</summary>
[NonParallelizable]
public sealed class CrashRecoveryTests
{
    [Test]
    public async Task AfterKillMinus9MidFetchTheCacheIsStillWarmAndNeverServesATornBlock()
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        var warm = Bytes(1, (9 << 20) + 321);
        var large = Bytes(2, 96 << 20);
        await File.WriteAllBytesAsync(Path.Combine(source, "warm.bin"), warm);
        await File.WriteAllBytesAsync(Path.Combine(source, "large.bin"), large);
        var mounted = Path.Combine(sandbox.MountPoint, "data");

        await using (var first = AgentProcess.Start(sandbox, Yaml(sandbox, source, FreePort()), sandbox.MountPoint))
        {
            await first.WaitForMountAsync();
            Assert.That(await File.ReadAllBytesAsync(Path.Combine(mounted, "warm.bin")), Is.EqualTo(warm), "first agent");

            // Start a large read and kill the agent while its blocks are being fetched and written.
            var reading = Task.Run(() =>
            {
                try
                {
                    return File.ReadAllBytes(Path.Combine(mounted, "large.bin")).Length;
                }
                catch (IOException)
                {
                    return -1; // the mount died under the reader, as expected
                }
            });
            await Task.Delay(150);
            first.Signal(AgentProcess.SIGKILL);
            await first.WaitForExitAsync();
            TestSandbox.LazyUnmount(sandbox.MountPoint);
            await reading.WaitAsync(TimeSpan.FromSeconds(60));
        }

        var port = FreePort();
        await using var second = AgentProcess.Start(sandbox, Yaml(sandbox, source, port), sandbox.MountPoint);
        await second.WaitForMountAsync();
        Assert.That(await File.ReadAllBytesAsync(Path.Combine(mounted, "warm.bin")), Is.EqualTo(warm), "after the crash");
        var metrics = await Scrape(port);
        Assert.Multiple(() =>
        {
            Assert.That(Value(metrics, "warpdrive_backend_bytes_read_total"), Is.Zero, "the warm file came from the cache, not the backend");
            Assert.That(Value(metrics, "warpdrive_cache_hit_total"), Is.GreaterThan(0), "served by the cache's read path");
        });

        // Whatever the killed agent left half-written is refetched or verified, never served torn.
        Assert.That(await File.ReadAllBytesAsync(Path.Combine(mounted, "large.bin")), Is.EqualTo(large), "the file being fetched at the crash");
    }

    /// <summary>Passthrough off, so reads after the restart go through the cache's checksummed read path.</summary>
    private static string Yaml(TestSandbox sandbox, string source, int metricsPort) => $"""
        mount_point: "{sandbox.MountPoint}"
        cache:
          path: "{sandbox.CachePath}"
          passthrough: off
        metrics:
          enabled: true
          addr: 127.0.0.1:{metricsPort}
        backends:
          - name: data
            type: local
            config:
              root: "{source}"
              serve_in_place: false # through the block cache, which is what this test is about
        """;

    private static byte[] Bytes(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<string> Scrape(int port)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
    }

    /// <summary>Sum of every series of <paramref name="name"/> in Prometheus text format (absent = 0).</summary>
    private static double Value(string metrics, string name) =>
        metrics.Split('\n')
            .Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) || line.StartsWith(name + " ", StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.Contains('}') ? line.LastIndexOf('}') + 1 : name.Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
}
