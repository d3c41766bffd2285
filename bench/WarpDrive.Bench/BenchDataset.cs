using WarpDrive.Backends;

namespace WarpDrive.Bench;

/// <summary>
/// The source tree every target serves: shards&lt;S&gt;m/ (large files for seqread, randread and warm), epoch&lt;S&gt;m/
/// (many smaller shards read per epoch) and meta&lt;N&gt;-dNNNN/ (many tiny objects, 1,000 per directory). Created once on local
/// disk from seeded random bytes and reused while the layout matches; uploaded to the remotes only where missing.
/// </summary>
internal sealed class BenchDataset
{
    private const int ObjectsPerDirectory = 1_000;
    private const int MetaObjectBytes = 64;
    private readonly BenchSizes _sizes;

    public BenchDataset(string root, BenchSizes sizes)
    {
        Root = root;
        _sizes = sizes;
        // One directory per size, so a prefix holds exactly this dataset (warpdrive-ctl warms a whole prefix).
        ShardsDirectory = $"shards{sizes.ShardMiB}m";
        Shards = Enumerable.Range(0, sizes.Shards).Select(i => $"{ShardsDirectory}/shard-{i:D5}.tar").ToArray();
        EpochShards = Enumerable.Range(0, sizes.EpochShards).Select(i => $"epoch{sizes.EpochShardMiB}m/shard-{i:D5}.tar").ToArray();
        MetaPrefix = $"meta{sizes.MetaObjects}-";
        SmallFiles = Enumerable.Range(0, sizes.SmallFiles)
            .Select(i => $"small{sizes.SmallFiles}/d{i % sizes.SmallDirectories:D3}/f{i:D6}.bin").ToArray();
        ImagesDirectory = $"images{sizes.Images}";
    }

    /// <summary>The small-files tree: files of 100–200 KiB (ImageNet-like sizes), round-robin over the directories.</summary>
    public IReadOnlyList<string> SmallFiles { get; }

    public long SmallFilesTotalBytes => SmallFiles.Sum(p => SmallFileBytes(p));

    /// <summary>The PyTorch tree (made by bench/pytorch/loader.py): jpeg/&lt;class&gt;/*.jpg and tar/shard-*.tar of the same images.</summary>
    public string ImagesDirectory { get; }

    /// <summary>100–200 KiB, fixed per path, so the size never depends on creation order.</summary>
    private static long SmallFileBytes(string path) => (100 << 10) + ((long)(uint)StableHash(path) % (100 << 10));

    private static int StableHash(string text)
    {
        var hash = 17;
        foreach (var c in text)
        {
            hash = unchecked((hash * 31) + c);
        }

        return hash;
    }

    public string Root { get; }

    public string ShardsDirectory { get; }

    public IReadOnlyList<string> Shards { get; }

    public IReadOnlyList<string> EpochShards { get; }

    /// <summary>
    /// Name prefix of the meta tree's directories, which sit at the top level (meta2000-d0000/o000000, ...) and are
    /// named by the tree's object count so sizes never mix. Top level because s3rver's delimited listing drops
    /// common prefixes whose keys hold more than one further '/', which would hide a deeper tree from rclone and s3fs.
    /// </summary>
    public string MetaPrefix { get; }

    public long ShardBytes => (long)_sizes.ShardMiB << 20;

    public long ShardsTotalBytes => ShardBytes * Shards.Count;

    public long EpochTotalBytes => ((long)_sizes.EpochShardMiB << 20) * EpochShards.Count;

    public int MetaObjects => _sizes.MetaObjects;

    /// <summary>
    /// An object no workload reads: each client reads it once after every (re)start, before a cold figure is taken,
    /// so cold means empty caches, not a process that has never served a read (a mount daemon runs for days).
    /// </summary>
    public const string WarmupObject = "warmup/probe.bin";

    public const long WarmupObjectBytes = 1 << 20;

    public void EnsureCreated()
    {
        foreach (var shard in Shards)
        {
            EnsureFile(shard, ShardBytes);
        }

        foreach (var shard in EpochShards)
        {
            EnsureFile(shard, (long)_sizes.EpochShardMiB << 20);
        }

        EnsureFile(WarmupObject, WarmupObjectBytes);
        foreach (var path in SmallFiles)
        {
            EnsureFile(path, SmallFileBytes(path));
        }

        var content = new byte[MetaObjectBytes];
        foreach (var path in MetaObjectPaths())
        {
            var full = Path.Combine(Root, path);
            if (!File.Exists(full))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                Random.Shared.NextBytes(content);
                File.WriteAllBytes(full, content);
            }
        }
    }

    /// <summary>Copies every file of the tree that <paramref name="backend"/> lacks (or holds at another size).</summary>
    public async Task UploadAsync(IBackend backend, int parallelism)
    {
        var present = new Dictionary<string, long>(StringComparer.Ordinal);
        await foreach (var entry in backend.ListAsync("", recursive: true, CancellationToken.None).ConfigureAwait(false))
        {
            present[entry.Path] = entry.Size;
        }

        var missing = Shards.Concat(EpochShards).Concat(MetaObjectPaths()).Append(WarmupObject)
            .Where(p => !present.TryGetValue(p, out var size) || size != new FileInfo(Path.Combine(Root, p)).Length)
            .ToArray();
        if (missing.Length == 0)
        {
            return;
        }

        Console.WriteLine($"  uploading {missing.Length} objects to {backend.Type}");
        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, async (path, token) =>
        {
            var stream = File.OpenRead(Path.Combine(Root, path));
            await using (stream.ConfigureAwait(false))
            {
                await backend.WriteAsync(path, stream, token).ConfigureAwait(false);
            }
        }).ConfigureAwait(false);
    }

    private IEnumerable<string> MetaObjectPaths() =>
        Enumerable.Range(0, _sizes.MetaObjects).Select(i => $"{MetaPrefix}d{i / ObjectsPerDirectory:D4}/o{i:D6}");

    private void EnsureFile(string relative, long bytes)
    {
        var path = Path.Combine(Root, relative);
        if (File.Exists(path) && new FileInfo(path).Length == bytes)
        {
            return;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var buffer = new byte[1 << 20];
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        for (long written = 0; written < bytes; written += buffer.Length)
        {
            Random.Shared.NextBytes(buffer);
            stream.Write(buffer, 0, (int)Math.Min(buffer.Length, bytes - written));
        }
    }
}
