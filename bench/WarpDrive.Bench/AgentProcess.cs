using System.Diagnostics;
using System.Runtime.InteropServices;

namespace WarpDrive.Bench;

/// <summary>Runs warpdrive-node as a child process over a config, waits for the mount, and stops it with SIGTERM.</summary>
internal sealed partial class AgentProcess : IDisposable
{
    private readonly Process _process;
    private readonly string _mountPoint;

    private AgentProcess(Process process, string mountPoint)
    {
        _process = process;
        _mountPoint = mountPoint;
    }

    public static AgentProcess Start(string configPath, string mountPoint)
    {
        var agent = Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { agent, "mount", "--config", configPath, "--log-format", "text", "--log-level", "Warning" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"  agent: {e.Data}");
            }
        };
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!IsMounted(mountPoint))
        {
            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"warpdrive-node did not mount {mountPoint} (exit code {(process.HasExited ? process.ExitCode : "none yet")})");
            }

            Thread.Sleep(50);
        }

        return new AgentProcess(process, mountPoint);
    }

    /// <summary>Peak resident memory of the agent so far (VmHWM), in MiB.</summary>
    public double PeakRssMiB()
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024.0;
    }

    /// <summary>User + system CPU time the agent has used so far.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15);
            if (!_process.WaitForExit(15_000))
            {
                _process.Kill();
            }
        }

        if (IsMounted(_mountPoint))
        {
            using var umount = Process.Start("umount", ["-l", _mountPoint]);
            umount.WaitForExit();
        }

        _process.Dispose();
    }

    private static bool IsMounted(string mountPoint) =>
        File.ReadLines("/proc/self/mounts").Any(l => l.Split(' ') is [_, var target, var type, ..] && target == mountPoint && type.StartsWith("fuse", StringComparison.Ordinal));

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
