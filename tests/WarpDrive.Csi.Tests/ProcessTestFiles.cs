namespace WarpDrive.Csi.Tests;

/// <summary>Files and cleanup for tests that run the real plugin process in a temp dir.</summary>
public static class ProcessTestFiles
{
    /// <summary>
    /// Writes <c>data/a.txt</c>, <c>data/b/b.txt</c> and a config with one untenanted local source "data"; returns the
    /// <c>--config</c>, <c>--state-dir</c> and <c>--release-grace 0</c> arguments for it.
    /// </summary>
    public static string[] ConfigArgs(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "data", "b"));
        File.WriteAllText(Path.Combine(root, "data", "a.txt"), "from the process\n");
        File.WriteAllText(Path.Combine(root, "data", "b", "b.txt"), "in b\n");
        var config = Path.Combine(root, "config.yaml");
        File.WriteAllText(config, $"mount_point: /unused\ncache: {{ path: {root}/cache, max_size: 64MiB, block_size: 1MiB }}\nmetrics: {{ enabled: false }}\n"
            + $"backends:\n  - name: data\n    type: local\n    config: {{ root: {root}/data }}\n");
        return ["--config", config, "--state-dir", Path.Combine(root, "state"), "--release-grace", "00:00:00"];
    }

    /// <summary>Every mount below <paramref name="root"/>, deepest first (binds before the mounts they show).</summary>
    public static IReadOnlyList<string> MountsBelow(string root) =>
        [.. MountTable.Read().Select(e => e.MountPoint).Where(m => m.StartsWith(root + "/", StringComparison.Ordinal)).OrderByDescending(m => m.Length)];

    public static void DetachEverythingBelow(string root)
    {
        for (var round = 0; round < 4 && MountsBelow(root).Count > 0; round++)
        {
            foreach (var mount in MountsBelow(root))
            {
                BindMounts.Unmount(mount);
            }
        }
    }
}
