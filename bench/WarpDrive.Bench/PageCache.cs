namespace WarpDrive.Bench;

/// <summary>Drops the kernel page cache so a "cold" run really reads from its source (needs root).</summary>
internal static class PageCache
{
    public static bool TryDrop()
    {
        try
        {
            Sync();
            File.WriteAllText("/proc/sys/vm/drop_caches", "3");
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "sync")]
    private static extern void Sync();
}
