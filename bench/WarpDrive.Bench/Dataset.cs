namespace WarpDrive.Bench;

/// <summary>N shard files of S MiB of incompressible data, created once and reused while their sizes match.</summary>
internal sealed class Dataset(string root, int files, int sizeMiB)
{
    public string Root { get; } = root;

    public IReadOnlyList<string> RelativePaths { get; } =
        Enumerable.Range(0, files).Select(i => $"shards/shard-{i:D5}.tar").ToArray();

    public long TotalBytes => (long)files * sizeMiB * 1024 * 1024;

    public void EnsureCreated()
    {
        var buffer = new byte[1024 * 1024];
        foreach (var relative in RelativePaths)
        {
            var path = Path.Combine(Root, relative);
            if (File.Exists(path) && new FileInfo(path).Length == (long)sizeMiB * buffer.Length)
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
            for (var i = 0; i < sizeMiB; i++)
            {
                Random.Shared.NextBytes(buffer);
                stream.Write(buffer);
            }
        }
    }
}
