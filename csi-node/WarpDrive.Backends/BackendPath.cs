namespace WarpDrive.Backends;

/// <summary>Helpers for the relative '/'-separated paths every backend speaks.</summary>
public static class BackendPath
{
    /// <summary>Joins a directory path and a child name ("" is the root).</summary>
    public static string Join(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;

    /// <summary>The parent directory of a path ("" for top-level names).</summary>
    public static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash < 0 ? "" : path[..slash];
    }

    /// <summary>
    /// True for "" and for relative paths of non-empty segments other than "." and "..", without NUL.
    /// Backends that map paths onto a real directory tree reject anything else so a path cannot escape the root.
    /// </summary>
    public static bool IsWellFormed(string path)
    {
        if (path.Length == 0)
        {
            return true;
        }
        if (path.Contains('\0'))
        {
            return false;
        }
        foreach (var range in path.AsSpan().Split('/'))
        {
            var segment = path.AsSpan(range);
            if (segment.Length == 0 || segment is "." || segment is "..")
            {
                return false;
            }
        }
        return true;
    }
}
