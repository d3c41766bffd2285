using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace WarpDrive.Ctl.Tests;

/// <summary>
/// A real <c>warpdrive-node mount</c> (the dll beside the tests) serving one local backend <c>data</c> from a temp
/// directory, with metrics on a free loopback port. Disposing stops it with SIGTERM (by PID), unmounts if it
/// did not, and deletes the directory.
/// </summary>
internal sealed partial class RunningAgent : IAsyncDisposable
{
    private readonly Process _process;

    private RunningAgent(Process process, string root, int metricsPort)
    {
        _process = process;
        Root = root;
        MetricsPort = metricsPort;
    }

    public string Root { get; }

    public string Source => Path.Combine(Root, "source");

    public string MountPoint => Path.Combine(Root, "mnt");

    public string ConfigPath => Path.Combine(Root, "config.yaml");

    public int MetricsPort { get; }

    public string MetricsUrl => $"http://127.0.0.1:{MetricsPort}";

    /// <summary>Starts the agent once <paramref name="prepare"/> has written the source files, and waits for the mount.</summary>
    public static async Task<RunningAgent> StartAsync(Action<string> prepare)
    {
        var root = Directory.CreateTempSubdirectory("wd-ctl-agent-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "source"));
        Directory.CreateDirectory(Path.Combine(root, "mnt"));
        prepare(Path.Combine(root, "source"));
        var port = FreePort();
        await File.WriteAllTextAsync(Path.Combine(root, "config.yaml"), $"""
            mount_point: {Path.Combine(root, "mnt")}
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
                  serve_in_place: false # through the block cache, like a network source
            """);
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll"), "mount", "--config", Path.Combine(root, "config.yaml"), "--log-format", "text" })
        {
            start.ArgumentList.Add(argument);
        }

        var agent = new RunningAgent(Process.Start(start)!, root, port);
        agent._process.ErrorDataReceived += (_, e) => TestContext.Progress.WriteLine(e.Data);
        agent._process.BeginErrorReadLine();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!agent.Mounted())
            {
                Assert.That(agent._process.HasExited || DateTime.UtcNow > deadline, Is.False, "the agent did not mount");
                await Task.Delay(50);
            }

            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _ = Kill(_process.Id, 15);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try
                {
                    await _process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill();
                }
            }

            if (Mounted())
            {
                Process.Start("umount", ["-l", MountPoint])!.WaitForExit();
            }
        }
        finally
        {
            _process.Dispose();
            Directory.Delete(Root, recursive: true);
        }
    }

    private bool Mounted() => File.ReadAllText("/proc/self/mounts").Contains(" " + MountPoint + " ", StringComparison.Ordinal);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
