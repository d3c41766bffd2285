using System.Diagnostics;
using System.Text;

namespace WarpDrive.Ctl.Tests;

/// <summary>What one run of warpdrive-ctl printed and returned.</summary>
internal sealed record CtlResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
}

/// <summary>
/// The real warpdrive-ctl (the warpdrive-ctl.dll copied next to the tests) as a child process with redirected,
/// therefore non-TTY, output. Every process is killed (by its own PID) if it outlives its test.
/// </summary>
internal sealed class CtlProcess : IAsyncDisposable
{
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();

    private CtlProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    public static CtlProcess Start(IEnumerable<string> args, string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "warpdrive-ctl.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Tests must not pick up a developer's settings.
        start.Environment.Remove("WARPDRIVE_SERVER");
        start.Environment.Remove("WARPDRIVE_TOKEN_FILE");
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        var ctl = new CtlProcess(new Process { StartInfo = start });
        ctl._process.OutputDataReceived += (_, e) => ctl.Append(ctl._stdout, e.Data);
        ctl._process.ErrorDataReceived += (_, e) => ctl.Append(ctl._stderr, e.Data);
        ctl._process.Start();
        ctl._process.BeginOutputReadLine();
        ctl._process.BeginErrorReadLine();
        return ctl;
    }

    public static async Task<CtlResult> RunAsync(params string[] args) => await RunInAsync(null, args);

    public static async Task<CtlResult> RunInAsync(string? workingDirectory, params string[] args)
    {
        await using var ctl = Start(args, workingDirectory);
        return await ctl.WaitAsync();
    }

    public async Task<CtlResult> WaitAsync()
    {
        using var timeout = new CancellationTokenSource(RunTimeout);
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"warpdrive-ctl (pid {Pid}) still running after {RunTimeout}; stderr:\n{Stderr}");
        }

        _process.WaitForExit(); // drains the redirected streams
        lock (_gate)
        {
            return new CtlResult(_process.ExitCode, _stdout.ToString(), _stderr.ToString());
        }
    }

    /// <summary>Waits until standard error has a line containing <paramref name="text"/>; fails if the process exits first.</summary>
    public async Task<string> WaitForStderrAsync(string text)
    {
        var deadline = DateTime.UtcNow + RunTimeout;
        while (DateTime.UtcNow < deadline)
        {
            var line = Stderr.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            if (_process.HasExited)
            {
                Assert.Fail($"warpdrive-ctl exited with {_process.ExitCode} before printing '{text}'; stderr:\n{Stderr}");
            }

            await Task.Delay(50);
        }

        Assert.Fail($"warpdrive-ctl did not print '{text}' in time; stderr:\n{Stderr}");
        return "";
    }

    /// <summary>Sends SIGINT (as Ctrl-C would) to this process only.</summary>
    public void Interrupt() => _ = Kill(_process.Id, 2);

    /// <summary>SIGTERM, as systemd and the kubelet stop a process.</summary>
    public void Terminate() => _ = Kill(_process.Id, 15);

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
    }

    private void Append(StringBuilder target, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            target.Append(line).Append('\n');
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
