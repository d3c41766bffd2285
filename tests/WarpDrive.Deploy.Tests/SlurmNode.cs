using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace WarpDrive.Deploy.Tests;

/// <summary>
/// One compute node for the prolog and epilog, in a temp directory: a local backend with a file, a mount point,
/// a cache, the agent's config, and the settings the scripts take from the environment (the start command
/// launches the real warpdrive-node.dll built next to these tests). Disposing kills the agent the scripts
/// started (by the PID they recorded), detaches anything still mounted, and deletes the directory.
/// </summary>
public sealed partial class SlurmNode : IDisposable
{
    public SlurmNode(string backendType = "local")
    {
        Root = Directory.CreateTempSubdirectory("wd-slurm-tests-").FullName;
        MountPoint = Directory.CreateDirectory(System.IO.Path.Combine(Root, "mnt")).FullName;
        var source = Directory.CreateDirectory(System.IO.Path.Combine(Root, "src")).FullName;
        File.WriteAllText(System.IO.Path.Combine(source, "hello.txt"), "hello from the backend\n");
        HealthPort = FreePort();
        ConfigPath = System.IO.Path.Combine(Root, "config.yaml");
        File.WriteAllText(ConfigPath, $"""
            mount_point: "{MountPoint}"
            cache:
              path: "{System.IO.Path.Combine(Root, "cache")}"
            metrics:
              enabled: true
              addr: "127.0.0.1:{HealthPort}"
            backends:
              - name: data
                type: {backendType}
                config:
                  root: "{source}"
            """);
        WarmRecord = System.IO.Path.Combine(Root, "warm-calls.txt");
        var agent = System.IO.Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll");
        var dotnet = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        Environment = new Dictionary<string, string?>
        {
            ["WARPDRIVE_SLURM_CONF"] = Repo.Path("deploy", "slurm", "warpdrive-slurm.conf"),
            ["WARPDRIVE_CONFIG"] = ConfigPath,
            ["WARPDRIVE_MOUNT_POINT"] = MountPoint,
            ["WARPDRIVE_HEALTH_URL"] = $"http://127.0.0.1:{HealthPort}/healthz",
            ["WARPDRIVE_START_COMMAND"] = $"{dotnet} {agent} mount --config {ConfigPath} --log-format text",
            ["WARPDRIVE_START_TIMEOUT"] = "60",
            ["WARPDRIVE_STOP_TIMEOUT"] = "30",
            ["WARPDRIVE_PID_FILE"] = System.IO.Path.Combine(Root, "run", "agent.pid"),
            ["WARPDRIVE_AGENT_LOG"] = AgentLog,
            ["WARPDRIVE_LOCK_FILE"] = System.IO.Path.Combine(Root, "run", "lock"),
            ["WARPDRIVE_WARM_COMMAND"] = $"{System.IO.Path.Combine(AppContext.BaseDirectory, "warm-command-test-double.sh")} warm --config {ConfigPath}",
            ["WARM_RECORD_FILE"] = WarmRecord,
            ["SLURM_JOB_ID"] = "4242",
            ["SLURM_JOB_USER"] = "alice",
            ["SLURMD_NODENAME"] = "gpu-node-01",
        };
    }

    public string Root { get; }

    public string MountPoint { get; }

    public string ConfigPath { get; }

    public int HealthPort { get; }

    /// <summary>Where the test double writes its arguments, one call a line.</summary>
    public string WarmRecord { get; }

    public string AgentLog => System.IO.Path.Combine(Root, "agent.log");

    /// <summary>What slurmd and the node's settings would give the scripts; tests change entries.</summary>
    public Dictionary<string, string?> Environment { get; }

    public bool IsMounted => File.ReadLines("/proc/self/mounts").Any(line => line.Split(' ')[1] == MountPoint);

    /// <summary>The PID the prolog recorded for the agent it started, if it still runs.</summary>
    public int? RunningAgentPid
    {
        get
        {
            var pidFile = Environment["WARPDRIVE_PID_FILE"]!;
            if (!File.Exists(pidFile) || !int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
            {
                return null;
            }

            try
            {
                using var process = Process.GetProcessById(pid);
                return process.HasExited ? null : pid;
            }
            catch (ArgumentException)
            {
                return null;
            }
        }
    }

    public Task<CommandResult> RunPrologAsync(int limitSeconds = 300) =>
        CommandRunner.RunAsync(Repo.Path("deploy", "slurm", "warpdrive-prolog.sh"), [], Environment, limitSeconds);

    public Task<CommandResult> RunEpilogAsync(int limitSeconds = 300) =>
        CommandRunner.RunAsync(Repo.Path("deploy", "slurm", "warpdrive-epilog.sh"), [], Environment, limitSeconds);

    public string Diagnostics() => File.Exists(AgentLog) ? $"--- agent log ---\n{File.ReadAllText(AgentLog)}" : "(no agent log)";

    public void Dispose()
    {
        if (RunningAgentPid is { } pid)
        {
            using var agent = Process.GetProcessById(pid);
            _ = Kill(pid, 15);
            if (!agent.WaitForExit(TimeSpan.FromSeconds(20)))
            {
                agent.Kill(entireProcessTree: true);
                agent.WaitForExit();
            }
        }

        if (IsMounted)
        {
            using var umount = Process.Start("umount", ["-l", MountPoint]);
            umount.WaitForExit();
        }

        if (!IsMounted)
        {
            Directory.Delete(Root, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
