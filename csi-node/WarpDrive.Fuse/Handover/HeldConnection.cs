using System.Globalization;

namespace WarpDrive.Fuse.Handover;

/// <summary>
/// A live FUSE connection as it passes between processes: every /dev/fuse descriptor that reads requests (the
/// mounting fd and its clones, each with its own queue of requests read but not yet answered), what INIT agreed,
/// and optionally one more descriptor with the filesystem's state (see WarpDrive.FileSystem's session journal).
/// The receiving process owns the descriptors it was given.
/// </summary>
public sealed record HeldConnection(IReadOnlyList<int> DeviceFds, uint ProtocolMinor, bool Passthrough, int StateFd = -1)
{
    /// <summary>The descriptors in the order they travel: the state file first (when present), then the devices.</summary>
    internal int[] AllFds() => StateFd >= 0 ? [StateFd, .. DeviceFds] : [.. DeviceFds];

    /// <summary>What travels as text next to the descriptors.</summary>
    internal string Note() => string.Create(CultureInfo.InvariantCulture, $"minor={ProtocolMinor} passthrough={(Passthrough ? 1 : 0)} state={(StateFd >= 0 ? 1 : 0)}");

    /// <summary>Rebuilds a connection from a note and the descriptors that came with it; null when they do not match.</summary>
    internal static HeldConnection? Parse(string note, IReadOnlyList<int> fds)
    {
        var fields = note.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(f => f.Split('=', 2))
            .Where(f => f.Length == 2)
            .ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        if (!fields.TryGetValue("minor", out var minorText) || !uint.TryParse(minorText, CultureInfo.InvariantCulture, out var minor))
        {
            return null;
        }

        var hasState = fields.GetValueOrDefault("state") == "1";
        var devices = hasState ? fds.Skip(1).ToArray() : [.. fds];
        if (devices.Length == 0)
        {
            return null;
        }

        return new HeldConnection(devices, minor, fields.GetValueOrDefault("passthrough") == "1", hasState ? fds[0] : -1);
    }

    /// <summary>Closes every descriptor (a connection that is not going to be served after all).</summary>
    public void CloseAll()
    {
        foreach (var fd in AllFds())
        {
            Native.LibC.Close(fd);
        }
    }
}
