namespace WarpDrive.Backends;

/// <summary>
/// One spelling for an ETag, whoever reported it. Object stores quote ETags in HTTP headers ("0x8D…") but not always in
/// listings (Azure's XML listing gives 0x8D… bare), and a version that looks different in a listing and a stat would be
/// taken for a changed file: a new inode, a refetch, a failed If-Match. So every backend stores them bare, and quotes
/// them again only for conditional requests.
/// </summary>
public static class EntityTags
{
    /// <summary>The ETag without surrounding quotes or a weak-validator prefix ("" for none).</summary>
    public static string Normalize(string? etag)
    {
        if (string.IsNullOrEmpty(etag))
        {
            return "";
        }

        var value = etag.StartsWith("W/", StringComparison.Ordinal) ? etag[2..] : etag;
        return value.Length >= 2 && value[0] == '"' && value[^1] == '"' ? value[1..^1] : value;
    }

    /// <summary>The quoted form an If-Match header wants.</summary>
    public static string Quote(string normalized) => "\"" + normalized + "\"";
}
