using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace WarpDrive.Backends.Tests.Contract;

/// <summary>
/// A protocol server (s3rver, azurite) started by a fixture on a free loopback port; disposing kills exactly
/// the process (tree) it started, by its Process object, and removes its data directory.
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _data;

    private ServerProcess(Process process, TempDirectory data, int port)
    {
        _process = process;
        _data = data;
        Port = port;
    }

    public int Port { get; }

    public static string RepoRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "hack", "deps.sh")))
                {
                    return dir.FullName;
                }
            }
            // Built with --artifacts-path outside the repo: fall back to the source location.
            return Path.GetFullPath(Path.Combine(ThisSourceDirectory(), "..", "..", ".."));
        }
    }

    /// <summary>Path of an npm-installed tool under .tools; fails the test (never skips) when it is missing.</summary>
    public static string NpmTool(string name)
    {
        var path = Path.Combine(RepoRoot, ".tools", "node_modules", ".bin", name);
        if (!File.Exists(path))
        {
            Assert.Fail($"'{name}' is not installed: run `bash hack/deps.sh` in the repository root");
        }
        return path;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static ServerProcess Start(string purpose, string executable, Func<int, string, IEnumerable<string>> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var data = new TempDirectory(purpose);
        var port = FreePort();
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = data.Path,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        foreach (var argument in arguments(port, data.Path))
        {
            info.ArgumentList.Add(argument);
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {executable}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, data, port);
        try
        {
            server.WaitUntilListening(TimeSpan.FromSeconds(30));
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    private void WaitUntilListening(TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"server exited early with code {_process.ExitCode}");
            }
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }
        throw new TimeoutException($"server did not listen on port {Port} within {limit}");
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        finally
        {
            _process.Dispose();
            _data.Dispose();
        }
    }

    private static string ThisSourceDirectory([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
