namespace WarpDrive.Cache;

/// <summary>
/// Where things live under the cache root: <c>meta/</c> holds RocksDB, <c>blocks/ab/cd/&lt;id&gt;.blk</c> one sparse
/// data file per cached object version. The id is random, so the two hex levels spread files evenly
/// (65,536 leaf directories) and no directory grows to millions of entries.
/// </summary>
internal sealed class BlockFileLayout(string root)
{
    private const string Extension = ".blk";

    public string MetadataDirectory { get; } = Path.Combine(root, "meta");

    public string BlocksDirectory { get; } = Path.Combine(root, "blocks");

    public string DataFilePath(Guid id)
    {
        var hex = id.ToString("N");
        return Path.Combine(BlocksDirectory, hex[..2], hex[2..4], hex + Extension);
    }

    /// <summary>Every file under blocks/, with the object id its name encodes (null for names that are not ours).</summary>
    public IEnumerable<(string Path, Guid? Id)> EnumerateDataFiles()
    {
        if (!Directory.Exists(BlocksDirectory))
        {
            yield break;
        }

        foreach (var file in Directory.EnumerateFiles(BlocksDirectory, "*", SearchOption.AllDirectories))
        {
            var name = Path.GetFileName(file);
            Guid? id = name.EndsWith(Extension, StringComparison.Ordinal) && Guid.TryParseExact(name[..^Extension.Length], "N", out var parsed)
                ? parsed
                : null;
            yield return (file, id);
        }
    }
}
