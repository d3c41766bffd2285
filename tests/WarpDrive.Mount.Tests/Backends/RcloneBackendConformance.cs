using WarpDrive.Backends;

namespace WarpDrive.Mount.Tests.Backends;

/// <summary>
/// The POSIX read-conformance suite over an rclone backend: rclone's own <c>local</c> remote over a temp directory,
/// so every read goes agent → rclone daemon (started by the backend) → rclone's local backend for real.
/// </summary>
[NonParallelizable]
public sealed class RcloneBackendConformance : BackendConformance
{
    protected override string BackendType => "rclone";

    protected override Task<IReadOnlyDictionary<string, string>> StartServerAsync(TestSandbox sandbox)
    {
        var root = Directory.CreateDirectory(Path.Combine(sandbox.Root, "rclone-remote")).FullName;
        IReadOnlyDictionary<string, string> config = new Dictionary<string, string> { ["type"] = "local", ["path"] = root };
        return Task.FromResult(config);
    }

    /// <summary>Nothing to stop: the writer's and the agent's backends each own their rclone daemon.</summary>
    protected override void StopServer()
    {
    }
}
