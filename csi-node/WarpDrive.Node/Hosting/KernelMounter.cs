using System.Globalization;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.Cache;
using WarpDrive.Config;
using WarpDrive.Csi;
using WarpDrive.Telemetry;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// The real <see cref="IMounter"/>: a data source becomes a <see cref="FuseTree"/> over the node's shared content
/// source and access recorder; bind mounts and unmounts are mount(2)/umount2(2) (<see cref="BindMounts"/>).
/// </summary>
public sealed class KernelMounter(Func<NodeConfig> config, IContentSource content, IAccessRecorder access, ILoggerFactory loggers, Func<IBackend, IBackend>? wrap) : IMounter
{
    private readonly ILogger _logger = loggers.CreateLogger<KernelMounter>();

    public async Task<IAsyncDisposable> MountSourceAsync(SourceMountRequest request, CancellationToken cancellationToken)
    {
        var tree = await FuseTree.MountAsync(config(), [request.Backend], request.MountPoint, content, loggers, wrap, access).ConfigureAwait(false);
        if (request.ReadaheadBytes is { } readahead)
        {
            SetReadahead(request.MountPoint, readahead);
        }

        return tree;
    }

    public void BindMountReadOnly(string source, string target) => BindMounts.BindReadOnly(source, target);

    public void Unmount(string target) => BindMounts.Unmount(target);

    public bool IsMountPoint(string path) => MountTable.IsMountPoint(path);

    /// <summary>
    /// Kernel readahead is per backing device: a FUSE mount's is /sys/class/bdi/&lt;major:minor&gt;/read_ahead_kb.
    /// Best effort: a failure is logged, never fatal (the mount works with the default).
    /// </summary>
    private void SetReadahead(string mountPoint, long bytes)
    {
        var entry = MountTable.Find(mountPoint);
        var file = $"/sys/class/bdi/{entry?.Device}/read_ahead_kb";
        try
        {
            File.WriteAllText(file, (bytes / 1024).ToString(CultureInfo.InvariantCulture));
            _logger.LogInformation("readahead of {MountPoint} set to {KiB} KiB", mountPoint, bytes / 1024);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("could not set readahead of {MountPoint} via {File}: {Error}", mountPoint, file, e.Message);
        }
    }
}
