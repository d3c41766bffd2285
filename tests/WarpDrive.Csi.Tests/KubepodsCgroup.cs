using System.Diagnostics;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// A real cgroup directory shaped like the one kubelet makes for a pod, so a process started in it looks, through
/// <c>/proc/&lt;pid&gt;/cgroup</c>, exactly like a container of that pod: in the cgroup v2 hierarchy
/// (<c>kubepods/burstable/pod&lt;uid&gt;</c>), or in the cgroup v1 <c>pids</c> hierarchy as the kubelet's cgroupfs
/// driver lays it out on a v1 (hybrid) host (<c>&lt;root&gt;/kubepods/besteffort/pod&lt;uid&gt;/&lt;container&gt;</c>). Removed
/// on disposal (a cgroup is removable once its processes have exited); directories that existed are left alone.
/// </summary>
internal sealed class KubepodsCgroup : IDisposable
{
    private readonly List<string> _created = [];
    private readonly string _directory;

    public KubepodsCgroup(string podUid, bool cgroupV1 = false)
    {
        var root = cgroupV1
            ? File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' ')).Where(f => f.Length > 3 && f[2] == "cgroup" && f[3].Split(',').Contains("pids"))
                .Select(f => f[1]).FirstOrDefault()
                ?? throw new InvalidOperationException("no cgroup v1 pids hierarchy is mounted; the test needs one to place a process in a pod's cgroup")
            : MountTable.Read().Where(e => e.FileSystemType == "cgroup2").Select(e => e.MountPoint).FirstOrDefault()
                ?? throw new InvalidOperationException("no cgroup2 hierarchy is mounted; the test needs one to place a process in a pod's cgroup");
        _directory = root;
        // v1: below a cgroup root of our own, as a kubelet with --cgroup-root lays it out. Never below the host's
        // /kubepods: a running kubelet (the kit's cluster uses v1 hierarchies) removes pod cgroups it does not know.
        string[] segments = cgroupV1
            ? ["warpdrive-test-" + Environment.ProcessId, "kubepods", "besteffort", "pod" + podUid, "5e1f0c2b9a7d4e3f8a6b1c0d2e4f6a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"]
            : ["kubepods", "burstable", "pod" + podUid];
        foreach (var segment in segments)
        {
            _directory = Path.Combine(_directory, segment);
            if (!Directory.Exists(_directory))
            {
                Directory.CreateDirectory(_directory);
                _created.Add(_directory);
            }
        }
    }

    /// <summary>Runs <c>cat <paramref name="file"/></c> inside the pod's cgroup and returns what it printed.</summary>
    public string Cat(string file)
    {
        var start = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("echo $$ > \"$1\" && exec cat \"$2\"");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add(Path.Combine(_directory, "cgroup.procs"));
        start.ArgumentList.Add(file);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(30_000))
        {
            process.Kill();
            throw new TimeoutException($"cat {file} in the pod cgroup did not finish");
        }

        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"cat {file} in the pod cgroup failed: {error}");
    }

    public void Dispose()
    {
        for (var i = _created.Count - 1; i >= 0; i--)
        {
            RemoveCgroup(_created[i]);
        }
    }

    /// <summary>
    /// rmdir of a cgroup whose last process has just been reaped can still answer EBUSY for a moment (cgroup v1
    /// releases the group asynchronously), so it is tried again for up to 5 s.
    /// </summary>
    private static void RemoveCgroup(string directory)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Directory.Delete(directory);
                return;
            }
            catch (DirectoryNotFoundException)
            {
                return;
            }
            catch (IOException) when (attempt < 250)
            {
                Thread.Sleep(20);
            }
        }
    }
}
