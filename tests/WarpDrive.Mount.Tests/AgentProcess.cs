using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace WarpDrive.Mount.Tests;

/// <summary>
/// <c>warpdrive-node mount</c> as a child process: the real agent, started from the warpdrive-node.dll copied
/// next to this assembly. Disposing stops it the way Kubernetes does (SIGTERM), and when that is not enough
/// (a failed test, a hung or crashed agent) detaches its mount and kills it, so nothing is left behind.
/// Its stderr is kept and written to the test log on dispose.
/// </summary>
public sealed partial class AgentProcess : IAsyncDisposable
{
    public const int SIGHUP = 1;
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    private static readonly TimeSpan MountTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(20);

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();

    private AgentProcess(Process process, string mountPoint)
    {
        _process = process;
        MountPoint = mountPoint;
    }

    public string MountPoint { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the agent wrote to stderr (its log) so far.</summary>
    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Writes <paramref name="config"/> into the sandbox and starts the agent on it, without waiting for anything.</summary>
    public static AgentProcess Start(TestSandbox sandbox, AgentConfig config) => Start(sandbox, config.ToYaml(), config.MountPoint);

    /// <param name="extraArguments">Appended to <c>mount --config FILE --log-format text</c>, e.g. <c>--log-level Debug</c>.</param>
    public static AgentProcess Start(TestSandbox sandbox, string yaml, string mountPoint, IReadOnlyDictionary<string, string>? environment = null,
        IEnumerable<string>? extraArguments = null)
    {
        var configPath = Path.Combine(sandbox.Root, $"config-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(configPath, yaml);
        return Run(["mount", "--config", configPath, "--log-format", "text", .. extraArguments ?? []], mountPoint, environment);
    }

    /// <summary>Starts <c>warpdrive-node</c> with exactly <paramref name="arguments"/> (bad flags, missing files).</summary>
    public static AgentProcess StartWithArguments(string mountPoint, params string[] arguments) => Run(arguments, mountPoint);

    /// <summary>Runs <c>warpdrive-node</c> with <paramref name="arguments"/>; <paramref name="mountPoint"/> is the mount it serves or holds (cleaned up on dispose).</summary>
    public static AgentProcess Run(IEnumerable<string> arguments, string mountPoint, IReadOnlyDictionary<string, string>? environment = null)
    {
        var agentDll = Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(agentDll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var process = new Process { StartInfo = start };
        var agent = new AgentProcess(process, mountPoint);
        process.ErrorDataReceived += (_, e) => agent.Append(e.Data);
        process.OutputDataReceived += (_, e) => agent.Append(e.Data);
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        return agent;
    }

    /// <summary>Starts the agent and waits until its mount point is in /proc/self/mounts.</summary>
    public static async Task<AgentProcess> StartMountedAsync(TestSandbox sandbox, AgentConfig config, params string[] extraArguments)
    {
        var agent = Start(sandbox, config.ToYaml(), config.MountPoint, extraArguments: extraArguments);
        try
        {
            await agent.WaitForMountAsync();
            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }

    public async Task WaitForMountAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (!MountTable.IsMounted(MountPoint))
        {
            if (_process.HasExited)
            {
                await _process.WaitForExitAsync(); // drains stderr
                Assert.Fail($"warpdrive-node exited with {_process.ExitCode} before {MountPoint} was mounted; stderr:\n{Stderr}");
            }

            if (deadline.Elapsed > MountTimeout)
            {
                Assert.Fail($"{MountPoint} not in /proc/self/mounts {MountTimeout.TotalSeconds}s after starting warpdrive-node (pid {Pid}); stderr:\n{Stderr}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Sends <paramref name="signal"/> to the agent (Process.Kill would only ever send SIGKILL).</summary>
    public void Signal(int signal)
    {
        if (Kill(Pid, signal) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Assert.Fail($"kill({Pid}, {signal}) failed with errno {errno}");
        }
    }

    /// <summary>Waits for the agent to exit by itself and returns its exit code; fails the test when it does not.</summary>
    public async Task<int> WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"warpdrive-node (pid {Pid}) still running {ExitTimeout.TotalSeconds}s later; stderr:\n{Stderr}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _ = Kill(Pid, SIGTERM);
                using var timeout = new CancellationTokenSource(ExitTimeout);
                try
                {
                    await _process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    TestContext.Out.WriteLine($"warpdrive-node (pid {Pid}) ignored SIGTERM for {ExitTimeout.TotalSeconds}s");
                }
            }

            if (MountTable.IsMounted(MountPoint))
            {
                TestSandbox.LazyUnmount(MountPoint);
            }

            if (!_process.HasExited)
            {
                _ = Kill(Pid, SIGKILL);
            }

            await _process.WaitForExitAsync(); // also drains the redirected stderr
        }
        finally
        {
            TestContext.Out.WriteLine($"--- warpdrive-node (pid {_process.Id}) stderr ---\n{Stderr}--- end of warpdrive-node stderr ---");
            _process.Dispose();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_stderr)
        {
            _stderr.AppendLine(line);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
