using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;

namespace WarpDrive.Tests.Shared;

/// <summary>
/// A protocol server (s3rver, azurite, rclone serve) on a free loopback port, with its data in a directory.
/// Disposing kills exactly the process tree it started, by its Process object (never by name), and removes the data
/// directory when it was handed over (<c>ownsDataDirectory</c>). One source file, linked into the test projects
/// that start servers (tests/Shared).
/// </summary>
internal sealed class ServerProcess : IDisposable
{
    private static readonly TimeSpan ListenTimeout = TimeSpan.FromSeconds(30);
    private readonly Process _process;
    private readonly string? _ownedDataDirectory;

    private ServerProcess(Process process, IPAddress address, int port, string? ownedDataDirectory)
    {
        _process = process;
        Address = address;
        Port = port;
        _ownedDataDirectory = ownedDataDirectory;
    }

    /// <summary>Where the server listens: loopback, unless a test needs pods to reach it (the node's own address).</summary>
    public IPAddress Address { get; }

    public int Port { get; }

    /// <summary>A tool that <c>bash hack/deps.sh</c> installs under .tools; fails the test (never skips) when it is missing.</summary>
    public static string NpmTool(string name)
    {
        var path = Path.Combine(RepoRoot(), ".tools", "node_modules", ".bin", name);
        if (!File.Exists(path))
        {
            Assert.Fail($"'{name}' is not installed: run `bash hack/deps.sh` in the repository root");
        }

        return path;
    }

    public static int FreePort(IPAddress? address = null)
    {
        using var listener = new TcpListener(address ?? IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// s3rver (installed by hack/deps.sh) with one <paramref name="bucket"/>, its data in a temp directory it owns, on
    /// loopback unless an <paramref name="address"/> is given. Its only key pair is S3RVER/S3RVER.
    /// </summary>
    public static Task<ServerProcess> StartS3rverAsync(string bucket, IPAddress? address = null)
    {
        var data = Directory.CreateTempSubdirectory("warpdrive-s3rver-").FullName;
        var host = (address ?? IPAddress.Loopback).ToString();
        return StartAsync(NpmTool("s3rver"), data,
            port => ["-d", data, "-a", host, "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent", "--configure-bucket", bucket],
            // s3rver encrypts continuation tokens with DES, which Node 17+ (OpenSSL 3) only offers from the legacy provider.
            new Dictionary<string, string> { ["NODE_OPTIONS"] = "--openssl-legacy-provider" }, ownsDataDirectory: true, address: address);
    }

    /// <summary>Starts <paramref name="executable"/> with the arguments for its port and waits until it accepts connections.</summary>
    public static async Task<ServerProcess> StartAsync(string executable, string dataDirectory, Func<int, IEnumerable<string>> arguments,
        IReadOnlyDictionary<string, string>? environment = null, bool ownsDataDirectory = false, IPAddress? address = null)
    {
        address ??= IPAddress.Loopback;
        var port = FreePort(address);
        var info = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        foreach (var argument in arguments(port))
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {executable}");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new ServerProcess(process, address, port, ownsDataDirectory ? dataDirectory : null);
        try
        {
            await server.WaitUntilListeningAsync(Path.GetFileName(executable));
            return server;
        }
        catch
        {
            server.Dispose();
            throw;
        }
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
            if (_ownedDataDirectory is not null && Directory.Exists(_ownedDataDirectory))
            {
                Directory.Delete(_ownedDataDirectory, recursive: true);
            }
        }
    }

    private async Task WaitUntilListeningAsync(string name)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < ListenTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited early with code {_process.ExitCode}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(Address, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"{name} did not listen on {Address}:{Port} within {ListenTimeout.TotalSeconds}s");
    }

    /// <summary>Found from this source file's path, so it works wherever the build output goes.</summary>
    private static string RepoRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        for (var directory = new FileInfo(sourceFile).Directory; directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "hack", "deps.sh")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("repository root (hack/deps.sh) not found above " + sourceFile);
    }
}
