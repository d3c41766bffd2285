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
}
