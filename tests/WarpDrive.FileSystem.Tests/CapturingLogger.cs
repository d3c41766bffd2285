using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace WarpDrive.FileSystem.Tests;

/// <summary>An in-memory logger: keeps each formatted line so tests can check what an operator would see.</summary>
internal sealed class CapturingLogger : ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
}
