namespace WarpDrive.PosixConformance;

/// <summary>One file of the dataset: its path relative to the tree's root ('/'-separated) and its length.</summary>
public sealed record DatasetFile(string RelativePath, long Length);

/// <summary>
/// The tree every backend is checked against. Only files are listed: directories follow from the file paths,
/// because object stores (S3, Azure, GCS) have no empty directories. The layout:
/// <list type="bullet">
/// <item><c>top.txt</c> at the root</item>
/// <item><c>sizes/size-N.bin</c> for the sizes around pages and cache blocks</item>
/// <item><c>deep/level-01/.../level-20/leaf.bin</c> with a <c>marker.txt</c> at every level</item>
/// <item><c>many/entry-NNNNN</c>: one directory with <see cref="LargeDirectoryName"/> entries</item>
/// <item><c>names/...</c>: names with spaces, quotes, unicode, emoji, '#', '%', a leading '-', and 255 UTF-8 bytes</item>
/// </list>
/// </summary>
public sealed class ConformanceDataset
{
    public const string SizesDirectory = "sizes";
    public const string LargeDirectoryName = "many";
    public const string NamesDirectory = "names";
    public const int DeepLevels = 20;

    /// <summary>0 and 1, around one page, just over the 1 MiB FUSE read size, and over two 4 MiB cache blocks.</summary>
    public static readonly IReadOnlyList<long> Sizes = [0, 1, 4095, 4096, 4097, (1 << 20) + 1, 9L << 20];

    /// <summary>A 255-byte UTF-8 name, the NAME_MAX of Linux: 127 two-byte characters and one ASCII.</summary>
    public static readonly string LongestName = new string('é', 127) + "x";

    public static readonly IReadOnlyList<string> OddNames =
    [
        "with space.txt",
        " leading space",
        "single'quote",
        "double\"quote",
        "unicode-ünïcødé-日本語.txt",
        "emoji-🚀🔥.bin",
        "hash#tag",
        "percent%20encoded%",
        "-leading-dash",
        "semi;colon,comma=equals",
        "brackets[1](2){3}",
        LongestName,
    ];

    private readonly Dictionary<string, SortedSet<string>> _children = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DatasetFile> _files = new(StringComparer.Ordinal);

    public ConformanceDataset(int largeDirectoryEntries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(largeDirectoryEntries, 1);
        _children[""] = new SortedSet<string>(StringComparer.Ordinal);

        Add("top.txt", 42);
        foreach (var size in Sizes)
        {
            Add($"{SizesDirectory}/{SizeFileName(size)}", size);
        }

        var deep = "deep";
        for (var level = 1; level <= DeepLevels; level++)
        {
            deep += $"/level-{level:00}";
            Add($"{deep}/marker.txt", level * 10);
        }

        DeepestFile = $"{deep}/leaf.bin";
        Add(DeepestFile, 12345);

        for (var i = 0; i < largeDirectoryEntries; i++)
        {
            Add($"{LargeDirectoryName}/entry-{i:00000}", i % 193);
        }

        foreach (var (name, index) in OddNames.Select((n, i) => (n, i)))
        {
            Add($"{NamesDirectory}/{name}", 100 + index);
        }

        Add($"{NamesDirectory}/dir with space/inner file.txt", 7);
        Add($"{NamesDirectory}/🚀 rocket dir/ünïcødé.txt", 8);

        Files = [.. _files.Values];
    }

    public IReadOnlyList<DatasetFile> Files { get; }

    /// <summary>Every directory as a relative path; "" is the root.</summary>
    public IEnumerable<string> Directories => _children.Keys;

    public string DeepestFile { get; }

    public DatasetFile this[string relativePath] => _files[relativePath];

    public static string SizeFileName(long size) => $"size-{size}.bin";

    public static string SizePath(long size) => $"{SizesDirectory}/{SizeFileName(size)}";

    /// <summary>The names directly inside <paramref name="directory"/>, files and directories alike.</summary>
    public IReadOnlySet<string> ChildrenOf(string directory) => _children[directory];

    public bool IsDirectory(string relativePath) => _children.ContainsKey(relativePath);

    private void Add(string relativePath, long length)
    {
        _files.Add(relativePath, new DatasetFile(relativePath, length));
        var path = relativePath;
        while (path.Length > 0)
        {
            var slash = path.LastIndexOf('/');
            var parent = slash < 0 ? "" : path[..slash];
            if (!_children.TryGetValue(parent, out var siblings))
            {
                siblings = new SortedSet<string>(StringComparer.Ordinal);
                _children[parent] = siblings;
            }

            siblings.Add(path[(slash + 1)..]);
            path = parent;
        }
    }
}
