using System.Diagnostics;

namespace WarpDrive.Bench;

/// <summary>Waits for and removes FUSE mounts by reading /proc/self/mounts.</summary>
internal static class Mounts
{
    public static bool IsMounted(string mountPoint) =>
        File.ReadLines("/proc/self/mounts").Any(l => l.Split(' ') is [_, var target, var type, ..] && target == mountPoint && type.StartsWith("fuse", StringComparison.Ordinal));

    public static void WaitFor(string mountPoint, ChildProcess server, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!IsMounted(mountPoint))
        {
            if (server.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{server.Name} did not mount {mountPoint} (exit code {(server.HasExited ? server.ExitCode : "none yet")})");
            }

            Thread.Sleep(50);
        }
    }

    /// <summary>Lazily unmounts <paramref name="mountPoint"/> if something is still mounted there.</summary>
    public static void EnsureUnmounted(string mountPoint)
    {
        for (var attempt = 0; attempt < 3 && IsMounted(mountPoint); attempt++)
        {
            using var umount = Process.Start("umount", ["-l", mountPoint]);
            umount.WaitForExit();
        }
    }
}
