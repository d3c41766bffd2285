using System.Diagnostics;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// A real cgroup v2 directory shaped like the one kubelet makes for a pod (<c>kubepods/burstable/pod&lt;uid&gt;</c>),
/// so a process started in it looks, through <c>/proc/&lt;pid&gt;/cgroup</c>, exactly like a container of that pod.
/// Removed on disposal (a cgroup is removable once its processes have exited).
/// </summary>
internal sealed class KubepodsCgroup : IDisposable
{
    private readonly List<string> _created = [];
    private readonly string _directory;

    public KubepodsCgroup(string podUid)
    {
        var root = MountTable.Read().Where(e => e.FileSystemType == "cgroup2").Select(e => e.MountPoint).FirstOrDefault()
            ?? throw new InvalidOperationException("no cgroup2 hierarchy is mounted; the test needs one to place a process in a pod's cgroup");
        _directory = root;
        foreach (var segment in new[] { "kubepods", "burstable", "pod" + podUid })
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
            Directory.Delete(_created[i]);
        }
    }
}
