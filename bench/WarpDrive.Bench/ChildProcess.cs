using System.Diagnostics;
using System.Runtime.InteropServices;

namespace WarpDrive.Bench;

/// <summary>
/// A server the benchmark starts (warpdrive-node, rclone, s3fs): its output goes to a log file, its PID is
/// appended to a pid file so hack/bench.sh can stop it even if the benchmark dies, and <see cref="Dispose"/>
/// stops exactly this process: SIGTERM, then SIGKILL after a grace period.
/// </summary>
internal sealed partial class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly LogFile _log;

    private ChildProcess(Process process, string name, LogFile log)
    {
        _process = process;
        Name = name;
        _log = log;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Where child PIDs are recorded for the shell's trap (set from WARPDRIVE_BENCH_PIDFILE).</summary>
    public static string? PidFile { get; set; } = Environment.GetEnvironmentVariable("WARPDRIVE_BENCH_PIDFILE");

    public static ChildProcess Start(string name, string executable, IEnumerable<string> arguments, string logPath, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // A null value removes the variable from the child's environment.
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {executable}");
        if (PidFile is not null)
        {
            File.AppendAllText(PidFile, $"{process.Id}\n");
        }

        var log = new LogFile(logPath);
        process.OutputDataReceived += (_, e) => log.Write(e.Data);
        process.ErrorDataReceived += (_, e) => log.Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new ChildProcess(process, name, log);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, 15);
            if (!_process.WaitForExit(20_000))
            {
                _process.Kill();
                _process.WaitForExit(5_000);
            }
        }

        _process.Dispose();
        _log.Dispose();
    }

    /// <summary>The child's output; lines that arrive after it is closed (the process may outlive the wait) are dropped.</summary>
    private sealed class LogFile(string path) : IDisposable
    {
        private readonly StreamWriter _writer = new(path, append: true) { AutoFlush = true };
        private readonly Lock _gate = new();
        private bool _closed;

        public void Write(string? line)
        {
            lock (_gate)
            {
                if (line is not null && !_closed)
                {
                    _writer.WriteLine(line);
                }
            }
        }

        public void Dispose()
        {
            lock (_gate)
            {
                _closed = true;
                _writer.Dispose();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int signal);
}
