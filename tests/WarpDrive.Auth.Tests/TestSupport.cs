using System.Collections.Concurrent;
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
}

/// <summary>s3rver on a free loopback port (installed by hack/deps.sh), with a bucket for the tests.</summary>
internal static class S3rver
{
    public const string Bucket = "auth-test";

    public static Task<ServerProcess> StartAsync() => ServerProcess.StartS3rverAsync(Bucket);
}
