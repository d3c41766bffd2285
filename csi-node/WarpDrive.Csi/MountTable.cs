namespace WarpDrive.Csi;

/// <summary>Reads <c>/proc/self/mountinfo</c>: which paths are mount points, and of what.</summary>
public static class MountTable
{
    /// <summary>One mountinfo line: the device (major:minor), the mount point and the file system type.</summary>
    public readonly record struct Entry(string Device, string MountPoint, string FileSystemType);

    public static IEnumerable<Entry> Read()
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-");
            if (fields.Length < 5 || separator < 0 || separator + 1 >= fields.Length)
            {
                continue;
            }

            yield return new Entry(fields[2], Unescape(fields[4]), fields[separator + 1]);
        }
    }

    public static bool IsMountPoint(string path)
    {
        var full = Normalize(path);
        return Read().Any(e => e.MountPoint == full);
    }

    /// <summary>The newest mount at <paramref name="path"/>, if any (the one a lookup sees).</summary>
    public static Entry? Find(string path)
    {
        var full = Normalize(path);
        Entry? found = null;
        foreach (var entry in Read())
        {
            if (entry.MountPoint == full)
            {
                found = entry;
            }
        }

        return found;
    }

    private static string Normalize(string path)
    {
        var full = Path.GetFullPath(path);
        return full.Length > 1 ? full.TrimEnd('/') : full;
    }

    /// <summary>The kernel writes space, tab, newline and backslash in paths as octal escapes (\040 …).</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var text = new System.Text.StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                text.Append((char)(((field[i + 1] - '0') * 64) + ((field[i + 2] - '0') * 8) + (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }

        return text.ToString();
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
