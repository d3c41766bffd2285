using System.Diagnostics;

namespace WarpDrive.Mount.Tests;

/// <summary>
/// A temp directory per test holding the mount point, the cache and the backend sources. Disposing it first
/// detaches anything still mounted below it (a crashed agent leaves its mount behind), then deletes it.
/// </summary>
public sealed class TestSandbox : IDisposable
{
    public TestSandbox()
    {
        Root = Directory.CreateTempSubdirectory("wd-mount-tests-").FullName;
        MountPoint = Directory.CreateDirectory(Path.Combine(Root, "mnt")).FullName;
        CachePath = Path.Combine(Root, "cache");
    }

    public string Root { get; }

    public string MountPoint { get; }

    public string CachePath { get; }

    /// <summary>Creates and returns the source directory of a local backend.</summary>
    public string CreateSource(string name) => Directory.CreateDirectory(Path.Combine(Root, "src-" + name)).FullName;

    public void Dispose()
    {
        foreach (var mount in MountTable.MountsUnder(Root))
        {
            LazyUnmount(mount);
        }

        if (MountTable.MountsUnder(Root).Count == 0)
        {
            Directory.Delete(Root, recursive: true);
        }
        else
        {
            TestContext.Out.WriteLine($"not deleting {Root}: still mounted below it: {string.Join(", ", MountTable.MountsUnder(Root))}");
        }
    }

    /// <summary><c>umount -l</c>: detaches even a busy mount or one whose server is gone.</summary>
    public static void LazyUnmount(string mountPoint)
    {
        using var umount = Process.Start(new ProcessStartInfo("umount", ["-l", mountPoint]) { RedirectStandardError = true })
            ?? throw new InvalidOperationException("could not start umount");
        var error = umount.StandardError.ReadToEnd();
        umount.WaitForExit();
        TestContext.Out.WriteLine($"umount -l {mountPoint}: exit {umount.ExitCode} {error.Trim()}");
    }
}
