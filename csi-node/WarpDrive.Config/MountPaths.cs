namespace WarpDrive.Config;

/// <summary>Tidies a backend's mount path: collapses <c>//</c>, drops <c>.</c> segments and trailing slashes.</summary>
internal static class MountPaths
{
    /// <summary>
    /// The tidy form of <paramref name="path"/>. <c>..</c> segments are kept (not resolved) so validation can
    /// refuse them: a path that climbs is a mistake, not something to guess at.
    /// </summary>
    public static string Normalize(string path)
    {
        if (!path.StartsWith('/'))
        {
            return path;
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s != ".");
        return "/" + string.Join('/', segments);
    }

    public static bool IsNormalized(string path) =>
        path.StartsWith('/') && Normalize(path) == path;

    public static bool HasParentSegment(string path) => path.Split('/').Contains("..");
}
