namespace WarpDrive.Bench.S3;

/// <summary>One object of the served tree: its key and what HEAD and listings report about it.</summary>
internal sealed record IndexedObject(string Key, long Size, DateTime LastModifiedUtc, string ETag);

/// <summary>
/// Every regular file under a directory as an S3 key ('/'-separated, relative), sorted in S3's order (ordinal
/// UTF-16, the same as UTF-8 byte order for the keys a benchmark uses). Built once: the benchmark's tree does not
/// change while it is served, and a sorted array makes every listing page a binary search and a short scan.
/// </summary>
internal sealed class ObjectIndex
{
    private readonly IndexedObject[] _objects;

    private ObjectIndex(IndexedObject[] objects) => _objects = objects;

    public int Count => _objects.Length;

    public static ObjectIndex Build(string root)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };
        var objects = Directory.EnumerateFiles(root, "*", options)
            .Select(path => Describe(Path.GetRelativePath(root, path).Replace('\\', '/'), new FileInfo(path)))
            .ToArray();
        Array.Sort(objects, (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new ObjectIndex(objects);
    }

    /// <summary>
    /// ETag shaped like a multipart upload's ("&lt;32 hex&gt;-1"), derived from size and mtime: clients then know it is
    /// not the MD5 of the content (rclone and s3fs would otherwise check downloads against it) yet still see it
    /// change when the file does.
    /// </summary>
    public static IndexedObject Describe(string key, FileInfo file)
    {
        var modified = file.LastWriteTimeUtc;
        return new IndexedObject(key, file.Length, modified, $"\"{modified.Ticks:x16}{file.Length:x16}-1\"");
    }

    /// <summary>
    /// One page of a listing: keys starting with <paramref name="prefix"/> after <paramref name="after"/>, with keys
    /// that hold <paramref name="delimiter"/> after the prefix rolled up into common prefixes. An <paramref name="after"/>
    /// that is itself a common prefix skips every key below it (that is how a page ending on one continues).
    /// </summary>
    public ListingPage List(string prefix, string? delimiter, string? after, int maxKeys)
    {
        var contents = new List<IndexedObject>();
        var commonPrefixes = new List<string>();
        var start = LowerBound(after is not null && string.CompareOrdinal(after, prefix) > 0 ? after : prefix);
        string? last = null;
        var skipUnder = after is not null && delimiter is { Length: > 0 } && after.StartsWith(prefix, StringComparison.Ordinal) && after.EndsWith(delimiter, StringComparison.Ordinal)
            ? after
            : null;
        for (var i = start; i < _objects.Length; i++)
        {
            var item = _objects[i];
            if (!item.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                break;
            }

            if (after is not null && string.CompareOrdinal(item.Key, after) <= 0)
            {
                continue;
            }

            if (skipUnder is not null && item.Key.StartsWith(skipUnder, StringComparison.Ordinal))
            {
                continue;
            }

            string? rolled = null;
            if (delimiter is { Length: > 0 })
            {
                var at = item.Key.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
                if (at >= 0)
                {
                    rolled = item.Key[..(at + delimiter.Length)];
                    if (rolled == commonPrefixes.LastOrDefault())
                    {
                        continue;
                    }
                }
            }

            if (contents.Count + commonPrefixes.Count == maxKeys)
            {
                return new ListingPage(contents, commonPrefixes, IsTruncated: true, NextAfter: last);
            }

            if (rolled is not null)
            {
                commonPrefixes.Add(rolled);
                last = rolled;
                skipUnder = rolled;
            }
            else
            {
                contents.Add(item);
                last = item.Key;
            }
        }

        return new ListingPage(contents, commonPrefixes, IsTruncated: false, NextAfter: null);
    }

    private int LowerBound(string key)
    {
        int low = 0, high = _objects.Length;
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (string.CompareOrdinal(_objects[middle].Key, key) < 0)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low;
    }
}

/// <summary>One page of a listing; <see cref="NextAfter"/> is the last key or common prefix returned when truncated.</summary>
internal sealed record ListingPage(IReadOnlyList<IndexedObject> Contents, IReadOnlyList<string> CommonPrefixes, bool IsTruncated, string? NextAfter);
