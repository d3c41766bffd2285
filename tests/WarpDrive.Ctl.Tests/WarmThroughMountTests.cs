using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace WarpDrive.Ctl.Tests;

/// <summary><c>warm --mount</c> fills a running agent's cache by reading through its mount (no cache lock needed).</summary>
[NonParallelizable]
public sealed partial class WarmThroughMountTests
{
    [Test]
    public async Task Warming_through_a_running_agent_fills_its_cache()
    {
        var root = Directory.CreateTempSubdirectory("wd-ctl-mountwarm-").FullName;
        var source = Path.Combine(root, "source", "shards");
        var mountPoint = Path.Combine(root, "mnt");
        Directory.CreateDirectory(source);
        Directory.CreateDirectory(mountPoint);
        for (var i = 0; i < 3; i++)
        {
            var bytes = new byte[2 << 20];
            new Random(i).NextBytes(bytes);
            await File.WriteAllBytesAsync(Path.Combine(source, $"shard-{i}.tar"), bytes);
        }

        var port = FreePort();
        var config = Path.Combine(root, "config.yaml");
        await File.WriteAllTextAsync(config, $"""
            mount_point: {mountPoint}
            cache:
              path: {Path.Combine(root, "cache")}
            metrics:
              enabled: true
              addr: 127.0.0.1:{port}
            backends:
              - name: data
                type: local
                config:
                  root: {Path.Combine(root, "source")}
            """);
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll"), "mount", "--config", config, "--log-format", "text" })
        {
            start.ArgumentList.Add(argument);
        }

        using var agent = Process.Start(start)!;
        agent.ErrorDataReceived += (_, e) => TestContext.Progress.WriteLine(e.Data);
        agent.BeginErrorReadLine();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!File.ReadAllText("/proc/self/mounts").Contains(" " + mountPoint + " ", StringComparison.Ordinal))
            {
                Assert.That(agent.HasExited || DateTime.UtcNow > deadline, Is.False, "the agent did not mount");
                await Task.Delay(50);
            }

            var result = await CtlProcess.RunAsync("warm", "--mount", mountPoint, "--backend", "data", "--prefix", "shards", "--workers", "2");

            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(result.Stdout, Does.Contain("3/3 files"), result.ToString());
            using var http = new HttpClient();
            var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics"));
            var cached = metrics.Split('\n').Where(l => l.StartsWith("warpdrive_cache_size_bytes", StringComparison.Ordinal))
                .Sum(l => double.Parse(l[(l.Contains('}') ? l.LastIndexOf('}') + 1 : "warpdrive_cache_size_bytes".Length)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
            Assert.That(cached, Is.GreaterThanOrEqualTo(3 * (2 << 20)), "every byte read through the mount is now in the agent's cache");
        }
        finally
        {
            if (!agent.HasExited)
            {
                _ = Kill(agent.Id, 15);
                if (!agent.WaitForExit(20_000))
                {
                    agent.Kill();
                }
            }

            if (File.ReadAllText("/proc/self/mounts").Contains(" " + mountPoint + " ", StringComparison.Ordinal))
            {
                Process.Start("umount", ["-l", mountPoint])!.WaitForExit();
            }

            Directory.Delete(root, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
