using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using WarpDrive.Config;

namespace WarpDrive.Auth.Tests;

/// <summary>Collects formatted log lines (with any exception text) so tests can assert on what was logged.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider, ILoggerFactory
{
    private readonly ConcurrentQueue<(LogLevel Level, string Text)> _lines = new();

    public IReadOnlyList<(LogLevel Level, string Text)> Lines => [.. _lines];

    public IEnumerable<string> Warnings => Lines.Where(l => l.Level >= LogLevel.Warning).Select(l => l.Text);

    public string All => string.Join("\n", Lines.Select(l => l.Text));

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue((logLevel, formatter(state, exception) + (exception is null ? "" : "\n" + exception)));
    }
}

/// <summary>A temp directory removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "warpdrive-auth-" + Guid.NewGuid().ToString("N"));

    public string File(string name, string content)
    {
        var path = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}

internal static class Backends
{
    public static BackendConfig Config(string name, string type, IReadOnlyDictionary<string, string> config, string method, IReadOnlyDictionary<string, string> auth) => new()
    {
        Name = name,
        Type = type,
        MountPath = "/" + name,
        Config = config,
        Auth = new AuthConfig { Method = method, Settings = auth },
    };

    public static string RepoRoot([System.Runtime.CompilerServices.CallerFilePath] string path = "") =>
        System.IO.Path.GetFullPath(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path)!, "..", ".."));
}

/// <summary>s3rver on a free loopback port (installed by hack/deps.sh); killed by its Process on dispose.</summary>
internal sealed class S3rverProcess : IDisposable
{
    public const string Bucket = "auth-test";
    private readonly Process _process;
    private readonly TempDirectory _data = new();

    public S3rverProcess()
    {
        var tool = System.IO.Path.Combine(Backends.RepoRoot(), ".tools", "node_modules", ".bin", "s3rver");
        if (!System.IO.File.Exists(tool))
        {
            Assert.Fail("s3rver is not installed: run `bash hack/deps.sh` in the repository root");
        }
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        var info = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-d", _data.Path, "-a", "127.0.0.1", "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent", "--configure-bucket", Bucket })
        {
            info.ArgumentList.Add(a);
        }
        // s3rver encrypts continuation tokens with DES, which Node 17+ only offers from the legacy provider.
        info.Environment["NODE_OPTIONS"] = "--openssl-legacy-provider";
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                client.Connect(System.Net.IPAddress.Loopback, Port);
                return;
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
                Thread.Sleep(100);
            }
        }
    }

    public int Port { get; }

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
}
