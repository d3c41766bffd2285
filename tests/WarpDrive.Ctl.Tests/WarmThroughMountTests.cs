using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;

namespace WarpDrive.Ctl.Tests;

/// <summary>Commands against a real running agent: <c>warm --mount</c> (no cache lock needed), <c>status</c>, <c>stats --config</c>.</summary>
[NonParallelizable]
public sealed class WarmThroughMountTests
{
    [Test]
    public async Task Warming_through_a_running_agent_fills_its_cache()
    {
        await using var agent = await RunningAgent.StartAsync(source =>
        {
            Directory.CreateDirectory(Path.Combine(source, "shards"));
            for (var i = 0; i < 3; i++)
            {
                var bytes = new byte[2 << 20];
                new Random(i).NextBytes(bytes);
                File.WriteAllBytes(Path.Combine(source, "shards", $"shard-{i}.tar"), bytes);
            }
        });

        var result = await CtlProcess.RunAsync("warm", "--mount", agent.MountPoint, "--backend", "data", "--prefix", "shards", "--workers", "2");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Stdout, Does.Contain("3/3 files"), result.ToString());
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"{agent.MetricsUrl}/metrics"));
        var cached = metrics.Split('\n').Where(l => l.StartsWith("warpdrive_cache_size_bytes", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.Contains('}') ? l.LastIndexOf('}') + 1 : "warpdrive_cache_size_bytes".Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
        Assert.That(cached, Is.GreaterThanOrEqualTo(3 * (2 << 20)), "every byte read through the mount is now in the agent's cache");
    }

    [Test]
    public async Task StatusWithoutAControlPlaneReportsTheHealthyAgentAndSucceeds()
    {
        Assume.That(Answers(8090), Is.False, "something listens on the control plane's default port on this machine");
        await using var agent = await RunningAgent.StartAsync(source => File.WriteAllText(Path.Combine(source, "a.txt"), "a"));

        var status = await CtlProcess.RunAsync("status", "--agent", agent.MetricsUrl, "--format", "json");
        var stats = await CtlProcess.RunAsync("stats", "--config", agent.ConfigPath, "--format", "json");

        Assert.That(status.ExitCode, Is.Zero, status.ToString());
        var rows = JsonDocument.Parse(status.Stdout).RootElement.EnumerateArray().ToDictionary(r => r.GetProperty("component").GetString()!, r => r.GetProperty("status").GetString());
        Assert.That(rows, Is.EqualTo(new Dictionary<string, string> { ["agent"] = "ok", ["control-plane"] = "not configured" }));

        Assert.That(stats.ExitCode, Is.Zero, stats.ToString());
        var live = JsonDocument.Parse(stats.Stdout).RootElement[0];
        Assert.Multiple(() =>
        {
            Assert.That(live.GetProperty("source").GetString(), Is.EqualTo(agent.MetricsUrl), "--config finds the running agent at its metrics.addr");
            Assert.That(live.GetProperty("hits").ValueKind, Is.EqualTo(JsonValueKind.Number), "live counters");
        });
    }

    private static bool Answers(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
