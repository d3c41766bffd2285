using System.Text.RegularExpressions;

namespace WarpDrive.Telemetry.Identity;

/// <summary>
/// Finds the Kubernetes pod UID in a process's <c>/proc/&lt;pid&gt;/cgroup</c>. The kubelet puts every container
/// below a per-pod cgroup; both drivers are recognised:
/// cgroupfs <c>/kubepods/burstable/pod1b2c…-…/&lt;container&gt;</c> and systemd
/// <c>/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1b2c…_….slice/cri-containerd-….scope</c>
/// (the systemd form writes the UID's dashes as underscores). Every line is looked at, so a cgroup v1 or hybrid
/// host (one line per hierarchy, <c>12:pids:/kubepods/besteffort/pod…/…</c>, with <c>0::/</c> for the unified one)
/// is read as well as a v2 one. Paths may also be relative to the reader's cgroup namespace: on cgroup v2 the
/// runtime gives the agent's container a private one, so another pod's cgroupfs path reads
/// <c>0::/../../besteffort/pod1b2c…/…</c>, without <c>kubepods</c>; a whole <c>pod&lt;uid&gt;</c> path segment is
/// therefore enough.
/// </summary>
public static partial class CgroupPodUid
{
    public static string? Parse(string cgroupFileText)
    {
        ArgumentNullException.ThrowIfNull(cgroupFileText);
        foreach (var line in cgroupFileText.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // hierarchy-id:controllers:path — the path is the part after the second colon.
            var parts = line.Split(':', 3);
            if (parts.Length == 3 && PodSegment().Match(parts[2]) is { Success: true } match)
            {
                return match.Groups["uid"].Value.Replace('_', '-').ToLowerInvariant();
            }
        }

        return null;
    }

    [GeneratedRegex(@"(kubepods.*?[/-]|/)pod(?<uid>[0-9a-fA-F]{8}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{4}[-_][0-9a-fA-F]{12})(\.slice)?(/|$)")]
    private static partial Regex PodSegment();
}
