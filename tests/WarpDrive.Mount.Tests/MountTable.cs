namespace WarpDrive.Mount.Tests;

/// <summary>What /proc/self/mounts says, the ground truth for "is it mounted".</summary>
public static class MountTable
{
    /// <summary>Mount points (decoded) of every current mount.</summary>
    public static IReadOnlyList<string> MountPoints() =>
        [.. File.ReadLines("/proc/self/mounts").Select(line => Decode(line.Split(' ')[1]))];

    /// <summary>How many mounts are stacked at exactly <paramref name="mountPoint"/> (more than one is a mount on top of another).</summary>
    public static int CountAt(string mountPoint) => MountPoints().Count(m => m == Path.TrimEndingDirectorySeparator(mountPoint));

    public static bool IsMounted(string mountPoint) => MountPoints().Contains(Path.TrimEndingDirectorySeparator(mountPoint));

    /// <summary>Mounts at or below <paramref name="directory"/>, deepest first (the order to unmount them).</summary>
    public static IReadOnlyList<string> MountsUnder(string directory)
    {
        var root = Path.TrimEndingDirectorySeparator(directory);
        return [.. MountPoints().Where(m => m == root || m.StartsWith(root + "/", StringComparison.Ordinal)).OrderByDescending(m => m.Length)];
    }

    /// <summary>The kernel writes space, tab, newline and backslash in mount points as \ooo octal escapes.</summary>
    private static string Decode(string field) =>
        System.Text.RegularExpressions.Regex.Replace(field, @"\\([0-7]{3})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());
}
