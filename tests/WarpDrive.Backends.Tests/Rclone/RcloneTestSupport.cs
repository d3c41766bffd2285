using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends.Tests.Contract;

namespace WarpDrive.Backends.Tests.Rclone;

internal static class RcloneTool
{
    /// <summary>The rclone binary on PATH; fails the test (never skips) when it is missing.</summary>
    public static string Path
    {
        get
        {
            foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = System.IO.Path.Combine(directory, "rclone");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
            Assert.Fail("'rclone' is not installed: run `bash hack/deps.sh` in the repository root");
            return "";
        }
    }

    /// <summary>A real WebDAV server (`rclone serve webdav`) over a temp directory, with basic auth.</summary>
    public static Task<ServerProcess> StartWebDavAsync(string user, string password)
    {
        var data = Directory.CreateTempSubdirectory("warpdrive-webdav-").FullName;
        return ServerProcess.StartAsync(Path, data, port =>
            ["serve", "webdav", data, "--addr", $"127.0.0.1:{port}", "--user", user, "--pass", password, "--config", "/dev/null"], ownsDataDirectory: true);
    }
}

/// <summary>Keeps every formatted log line (all levels) so tests can look for secrets in them.</summary>
internal sealed class CapturingLoggerFactory : ILoggerFactory
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerFactory owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Lines.Enqueue((logLevel, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}
