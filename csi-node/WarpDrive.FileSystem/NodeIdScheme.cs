using System.Collections.Concurrent;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace WarpDrive.FileSystem;

/// <summary>
/// Turns a virtual path into its node id: XxHash64 of the UTF-8 path with seed 0, or the seed recorded
/// for that path after a collision. Because the id depends only on the path and the persisted collision
/// records, a restarted agent hands the kernel the same ids it already knows.
/// </summary>
internal sealed class NodeIdScheme
{
    public const ulong RootId = 1;

    // The top 256 values stay free for sentinels (FUSE_UNKNOWN_INO-style markers, "no id").
    private const ulong ReservedFloor = ulong.MaxValue - 255;

    private readonly Func<string, int, ulong> _hash;
    private readonly string? _statePath;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, int> _seeds;
    private readonly Lock _fileLock = new();

    public NodeIdScheme(string? statePath, ILogger logger, Func<string, int, ulong>? hash = null)
    {
        _hash = hash ?? HashPath;
        _statePath = statePath;
        _logger = logger;
        _seeds = new ConcurrentDictionary<string, int>(Load(statePath, logger), StringComparer.Ordinal);
    }

    public int RecordedSeed(string virtualPath) => _seeds.TryGetValue(virtualPath, out var seed) ? seed : 0;

    /// <summary>The id for <paramref name="virtualPath"/> under <paramref name="seed"/>, or 0 when that value is reserved.</summary>
    public ulong Candidate(string virtualPath, int seed)
    {
        var id = _hash(virtualPath, seed);
        return id <= RootId || id >= ReservedFloor ? 0 : id;
    }

    /// <summary>Remembers that <paramref name="virtualPath"/> uses <paramref name="seed"/>. Call <see cref="Persist"/> outside any lock.</summary>
    public void Remember(string virtualPath, int seed) => _seeds[virtualPath] = seed;

    public void Persist()
    {
        if (_statePath is null)
        {
            return;
        }

        lock (_fileLock)
        {
            try
            {
                var snapshot = new SortedDictionary<string, int>(_seeds, StringComparer.Ordinal);
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_statePath))!);
                var temp = _statePath + ".tmp";
                File.WriteAllText(temp, JsonSerializer.Serialize(snapshot));
                File.Move(temp, _statePath, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The ids stay correct for this process; only a restart could disagree, so warn and go on.
                _logger.LogWarning("Could not persist node-id collision records to {StatePath}: {Error}", _statePath, e.Message);
            }
        }
    }

    private static ulong HashPath(string virtualPath, int seed)
    {
        // Runs once per new node (then the table answers by path); short paths hash without allocating.
        var maxBytes = Encoding.UTF8.GetMaxByteCount(virtualPath.Length);
        Span<byte> utf8 = maxBytes <= 1024 ? stackalloc byte[maxBytes] : new byte[maxBytes];
        var length = Encoding.UTF8.GetBytes(virtualPath, utf8);
        return XxHash64.HashToUInt64(utf8[..length], seed);
    }

    private static Dictionary<string, int> Load(string? statePath, ILogger logger)
    {
        if (statePath is null || !File.Exists(statePath))
        {
            return new Dictionary<string, int>(StringComparer.Ordinal);
        }

        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(statePath)) ?? [];
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            logger.LogWarning("Ignoring unreadable node-id collision records at {StatePath}: {Error}", statePath, e.Message);
            return new Dictionary<string, int>(StringComparer.Ordinal);
        }
    }
}
