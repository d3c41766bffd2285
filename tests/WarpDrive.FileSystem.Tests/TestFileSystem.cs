using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Backends;
using WarpDrive.Cache;
using Microsoft.Extensions.Logging;

namespace WarpDrive.FileSystem.Tests;

/// <summary>Builds a <see cref="WarpFileSystem"/> over real backends with a recording connection already attached.</summary>
internal static class TestFileSystem
{
    public static WarpFileSystem Create(
        FileSystemOptions options,
        IReadOnlyList<BackendMount> mounts,
        ILogger? logger = null,
        Func<string, int, ulong>? nodeIdHash = null,
        RecordingConnectionTestDouble? connection = null)
    {
        var fs = new WarpFileSystem(options, mounts, new DirectContentSource(), logger ?? NullLogger.Instance, TimeProvider.System, nodeIdHash);
        fs.Initialize(connection ?? new RecordingConnectionTestDouble());
        return fs;
    }

    public static WarpFileSystem Create(string mountPath, IBackend backend, FileSystemOptions? options = null, ILogger? logger = null) =>
        Create(options ?? new FileSystemOptions(), [new BackendMount(mountPath, backend)], logger);
}
