using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using WarpDrive.Fuse.Native;

namespace WarpDrive.Fuse.Handover;

/// <summary>What is mounted at a mount point, as far as a fresh mount is concerned.</summary>
public enum MountPointState
{
    /// <summary>No FUSE mount: mount fresh.</summary>
    Free,

    /// <summary>A FUSE mount whose connection is gone: every request answers ENOTCONN.</summary>
    Dead,

    /// <summary>A FUSE mount that answers: some process serves it.</summary>
    Live,

    /// <summary>A FUSE mount whose connection exists but nobody reads it (an fd holder without its agent).</summary>
    Unanswered,
}

/// <summary>
/// Keeps a fresh mount from being stacked on top of an old one. mount(2) happily mounts over a mount point that
/// already holds a FUSE mount; the old one then reappears when the new one is unmounted. A dead mount of ours is
/// detached (every layer of it); a live or unanswered one is refused, since someone else serves or holds it.
/// </summary>
public static class StaleMounts
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Makes <paramref name="mountPoint"/> ready for a fresh mount of type <c>fuse.&lt;subtype&gt;</c>: detaches dead
    /// mounts of that type and logs each; throws <see cref="FuseMountException"/> when a live or unanswered FUSE mount
    /// (or a dead one of another type) is there. Returns how many dead mounts were detached.
    /// </summary>
    public static int ClearDead(string mountPoint, string subtype, ILogger logger)
    {
        mountPoint = Path.GetFullPath(mountPoint).TrimEnd('/');
        var detached = 0;
        for (var layer = 0; layer < 32; layer++)
        {
            var type = TopFuseType(mountPoint);
            if (type is null)
            {
                return detached;
            }

            var state = Probe(mountPoint);
            if (state == MountPointState.Dead && type == "fuse." + subtype)
            {
                logger.LogWarning("{MountPoint} holds a dead WarpDrive mount (ENOTCONN, its agent is gone and nothing holds its connection): detaching it and mounting fresh", mountPoint);
                FuseMounter.Unmount(mountPoint, lazy: true);
                detached++;
                continue;
            }

            throw new FuseMountException(state switch
            {
                MountPointState.Live => $"{mountPoint} is already mounted ({type}) and served by another process; stop it first (or start this agent with the fd holder that holds it to take it over)",
                MountPointState.Unanswered => $"{mountPoint} is mounted ({type}) and its connection is held but nobody serves it; start this agent with the fd holder that holds it (--fd-holder) to take it over",
                _ => $"{mountPoint} holds a dead {type} mount that is not ours; unmount it first (umount -l {mountPoint})",
            });
        }

        throw new FuseMountException($"{mountPoint}: more than 32 dead mounts stacked; unmount them first");
    }

    /// <summary>The type of the topmost FUSE mount at <paramref name="mountPoint"/>, or null when there is none.</summary>
    public static string? TopFuseType(string mountPoint)
    {
        mountPoint = Path.GetFullPath(mountPoint).TrimEnd('/');
        string? top = null;
        foreach (var line in File.ReadLines("/proc/self/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length > 2 && Unescape(fields[1]) == mountPoint)
            {
                top = fields[2].StartsWith("fuse", StringComparison.Ordinal) ? fields[2] : null; // later lines are on top
            }
        }

        return top;
    }

    /// <summary>
    /// Opens the mount point's root directory (an OPENDIR request) on a thread of its own: ENOTCONN is a dead mount,
    /// success a live one, and no answer within 3 s a connection nobody reads (the thread is left waiting; it is a
    /// background thread and the wait ends when someone serves or aborts the connection).
    /// </summary>
    public static MountPointState Probe(string mountPoint)
    {
        var result = new TaskCompletionSource<MountPointState>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            var fd = LibC.Open(mountPoint, LibC.O_DIRECTORY | LibC.O_CLOEXEC);
            if (fd >= 0)
            {
                LibC.Close(fd);
                result.TrySetResult(MountPointState.Live);
                return;
            }

            result.TrySetResult(Marshal.GetLastPInvokeError() == LibC.ENOTCONN ? MountPointState.Dead : MountPointState.Live);
        })
        { IsBackground = true, Name = "mount-probe" };
        thread.Start();
        return result.Task.Wait(ProbeTimeout) ? result.Task.Result : MountPointState.Unanswered;
    }

    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
