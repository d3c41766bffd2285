using System.Collections.Concurrent;
using System.Diagnostics;
using WarpDrive.Operator.Resources;

namespace WarpDrive.E2E.Tests;

/// <summary>
/// A real <c>warpdrive-operator run</c> process outside the cluster, talking to it through the test's kubeconfig,
/// with its own leader-election identity (POD_NAME). Its log lines are kept for assertions. Disposing kills it (by
/// its own PID, with its children).
/// </summary>
public sealed class OperatorProcess : IDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> lines = new();
    private bool disposed;

    private OperatorProcess(Process process, string identity)
    {
        this.process = process;
        Identity = identity;
        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Identity { get; }

    public IReadOnlyCollection<string> Lines => lines;

    /// <summary>True when the process ended by itself; an operator the test stopped does not count.</summary>
    public bool HasExited => !disposed && process.HasExited;

    public static OperatorProcess Start(string identity, string ns)
    {
        var dll = Path.Combine(Path.GetDirectoryName(typeof(WarpDataSource).Assembly.Location)!, "warpdrive-operator.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Several operators run at once outside the cluster: no embedded control plane (its port and SQLite file would collide).
        foreach (var arg in new[] { dll, "run", "--namespace", ns, "--resync", "30s", "--control-plane-addr", "" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["POD_NAME"] = identity;
        info.Environment["KUBECONFIG"] = Cluster.KubeConfigPath;
        return new OperatorProcess(Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet"), identity);
    }

    public bool Logged(string text) => lines.Any(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>Kills the process and prints its log tail; safe to call more than once (tests stop one on purpose).</summary>
    public void Dispose()
    {
        if (disposed)
        {
            return;
        }

        disposed = true;
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        finally
        {
            TestContext.Progress.WriteLine($"--- operator {Identity} log (last 40 lines) ---");
            foreach (var line in lines.TakeLast(40))
            {
                TestContext.Progress.WriteLine(line);
            }

            process.Dispose();
        }
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            lines.Enqueue(line);
        }
    }
}
