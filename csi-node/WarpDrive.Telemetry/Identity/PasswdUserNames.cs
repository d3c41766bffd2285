using System.Collections.Concurrent;
using System.Globalization;

namespace WarpDrive.Telemetry.Identity;

/// <summary>
/// uid → user name from an /etc/passwd-format file, as getpwuid would answer for local users. Parsed on the first
/// lookup and again when the file's modification time changes; a uid with no entry is reported as its number.
/// (Not getpwuid itself: NSS modules may block on the network, and this runs on the pump with a known cost.)
/// </summary>
public sealed class PasswdUserNames(string path = "/etc/passwd")
{
    private volatile Snapshot? _snapshot;

    public string NameOf(uint uid)
    {
        var snapshot = Current();
        return snapshot.Names.TryGetValue(uid, out var name) ? name : uid.ToString(CultureInfo.InvariantCulture);
    }

    private Snapshot Current()
    {
        var stamp = File.Exists(path) ? File.GetLastWriteTimeUtc(path) : DateTime.MinValue;
        var snapshot = _snapshot;
        if (snapshot is not null && snapshot.Stamp == stamp)
        {
            return snapshot;
        }

        snapshot = new Snapshot(stamp, stamp == DateTime.MinValue ? new ConcurrentDictionary<uint, string>() : Parse(File.ReadAllLines(path)));
        _snapshot = snapshot;
        return snapshot;
    }

    internal static ConcurrentDictionary<uint, string> Parse(IEnumerable<string> lines)
    {
        var names = new ConcurrentDictionary<uint, string>();
        foreach (var line in lines)
        {
            // name:password:uid:gid:gecos:home:shell; the first entry for a uid wins, as with getpwuid.
            var fields = line.Split(':');
            if (line.StartsWith('#') || fields.Length < 3 || fields[0].Length == 0)
            {
                continue;
            }

            if (uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var uid))
            {
                names.TryAdd(uid, fields[0]);
            }
        }

        return names;
    }

    private sealed record Snapshot(DateTime Stamp, ConcurrentDictionary<uint, string> Names);
}
