using System.Diagnostics;
using System.Text.Json;

namespace WarpDrive.Bench.Workloads;

/// <summary>
/// bench/pytorch/loader.py run by Debian's /usr/bin/python3 (python3-torch, python3-torchvision): makes the image
/// tree once, then one long-lived <c>serve</c> process runs each epoch on request, so importing torch is paid once
/// per suite, not per figure. Stopped (stdin closed, then killed by its Process) on dispose.
/// </summary>
internal sealed class PyTorchLoader : IDisposable
{
    public const string Python = "/usr/bin/python3";
    private readonly Process _process;

    private PyTorchLoader(Process process) => _process = process;

    public static string Script => Path.Combine(AppContext.BaseDirectory, "pytorch", "loader.py");

    /// <summary>True when Debian's python has torch and torchvision (hack/bench.sh installs them).</summary>
    public static bool IsAvailable()
    {
        if (!File.Exists(Python) || !File.Exists(Script))
        {
            return false;
        }

        using var probe = Process.Start(new ProcessStartInfo(Python, ["-c", "import torch, torchvision, PIL"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        probe.WaitForExit();
        return probe.ExitCode == 0;
    }

    /// <summary>Creates (once) the ImageFolder tree and the tar shards of the same images under <paramref name="root"/>.</summary>
    public static void Make(string root, BenchSizes sizes)
    {
        using var make = Process.Start(new ProcessStartInfo(Python,
            [Script, "make", "--root", root, "--images", $"{sizes.Images}", "--classes", $"{sizes.ImageClasses}", "--shards", $"{sizes.ImageShards}"])
        { RedirectStandardError = true })!;
        var errors = make.StandardError.ReadToEnd();
        make.WaitForExit();
        if (make.ExitCode != 0)
        {
            throw new InvalidOperationException($"loader.py make failed: {errors.Trim().Split('\n').LastOrDefault()}");
        }
    }

    public static PyTorchLoader Start(string logPath)
    {
        var process = Process.Start(new ProcessStartInfo(Python, [Script, "serve"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException("could not start loader.py");
        if (ChildProcess.PidFile is { } pidFile)
        {
            File.AppendAllText(pidFile, $"{process.Id}\n");
        }

        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (log)
                {
                    log.WriteLine(e.Data);
                }
            }
        };
        process.BeginErrorReadLine();
        return new PyTorchLoader(process);
    }

    /// <summary>One epoch over <paramref name="root"/> (jpeg or tar); returns samples/s and the samples seen.</summary>
    public (double SamplesPerSecond, int Samples) Epoch(string root, string kind, int workers, int batchSize, int seed)
    {
        _process.StandardInput.WriteLine($"epoch {root} {kind} {workers} {batchSize} {seed}");
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("loader.py exited (see pytorch.log in the work directory)");
        using var answer = JsonDocument.Parse(line);
        if (answer.RootElement.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"loader.py: {error.GetString()}");
        }

        return (answer.RootElement.GetProperty("samples_per_s").GetDouble(), answer.RootElement.GetProperty("samples").GetInt32());
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000))
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        finally
        {
            _process.Dispose();
        }
    }
}
