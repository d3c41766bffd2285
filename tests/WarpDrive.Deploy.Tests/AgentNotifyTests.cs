using System.Diagnostics;
using System.Runtime.InteropServices;

namespace WarpDrive.Deploy.Tests;

/// <summary>The real agent under a Type=notify supervisor: READY=1 once the tree is mounted, STOPPING=1 on SIGTERM.</summary>
[NonParallelizable]
public sealed partial class AgentNotifyTests
{
    [Test]
    public void The_agent_reports_ready_after_mounting_and_stopping_on_sigterm()
    {
        using var listener = NotifyListener.AtPath();
        var root = Directory.CreateTempSubdirectory("wd-notify-agent-").FullName;
        var mountPoint = Path.Combine(root, "mnt");
        var source = Path.Combine(root, "source");
        Directory.CreateDirectory(mountPoint);
        Directory.CreateDirectory(source);
        File.WriteAllText(Path.Combine(source, "hello.txt"), "hi");
        var config = Path.Combine(root, "config.yaml");
        File.WriteAllText(config, $"""
            mount_point: {mountPoint}
            cache:
              path: {Path.Combine(root, "cache")}
            metrics:
              enabled: false
            backends:
              - name: data
                type: local
                config:
                  root: {source}
            """);
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll"), "mount", "--config", config, "--log-format", "text" })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["NOTIFY_SOCKET"] = listener.Address;
        using var agent = Process.Start(start)!;
        agent.ErrorDataReceived += (_, e) => TestContext.Progress.WriteLine(e.Data);
        agent.BeginErrorReadLine();
        try
        {
            var received = new List<string> { listener.Receive() };
            while (!received.Any(d => d.Contains("READY=1", StringComparison.Ordinal)))
            {
                received.Add(listener.Receive());
            }

            Assert.That(File.ReadAllText(Path.Combine(mountPoint, "data", "hello.txt")), Is.EqualTo("hi"), "READY=1 comes after the tree is served");
            Assert.That(string.Join("\n", received), Does.Contain("STATUS=serving 1 backend(s) at " + mountPoint));

            Assert.That(Kill(agent.Id, 15), Is.Zero);
            Assert.That(listener.Receive(), Does.Contain("STOPPING=1"));
            Assert.That(agent.WaitForExit(30_000), Is.True);
            Assert.That(agent.ExitCode, Is.Zero);
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill();
                agent.WaitForExit();
            }

            if (File.ReadAllText("/proc/self/mounts").Contains(" " + mountPoint + " ", StringComparison.Ordinal))
            {
                Process.Start("umount", ["-l", mountPoint])!.WaitForExit();
            }

            Directory.Delete(root, recursive: true);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
