using Microsoft.Extensions.Logging;

namespace WarpDrive.Cache;

/// <summary>Startup: rebuild the in-memory index from RocksDB and reclaim what a crash left behind.</summary>
public sealed partial class BlockCache
{
    private void LoadAndReclaim()
    {
        var byId = new Dictionary<Guid, CachedObject>();
        var orphans = 0L;
        foreach (var record in _metadata.ReadObjects())
        {
            var filePath = _layout.DataFilePath(record.Id);
            if (record.BlockSize != _options.BlockSize || !File.Exists(filePath))
            {
                // Metadata without a file (crash between record and file creation), or a block size that changed.
                _metadata.DeleteObject(record.Id);
                File.Delete(filePath);
                orphans++;
                continue;
            }

            var cachedObject = new CachedObject(record.Id, record.Backend, record.Path, record.ETag, record.Size, record.BlockSize, filePath, fileExists: true)
            {
                PersistentPin = record.Pinned,
            };
            cachedObject.SetLastAccess(record.LastAccessUnixMs);
            var key = (record.Backend, record.Path);
            if (_objects.TryGetValue(key, out var other))
            {
                // Two versions of one path: a crash during invalidation. Keep the most recently used.
                var (keep, drop) = other.LastAccessUnixMs >= record.LastAccessUnixMs ? (other, cachedObject) : (cachedObject, other);
                _objects[key] = keep;
                byId.Remove(drop.Id);
                byId[keep.Id] = keep;
                DeleteObjectData(drop);
                orphans++;
                continue;
            }

            _objects[key] = cachedObject;
            byId[record.Id] = cachedObject;
        }

        // Access order survives restarts at object granularity: rank objects by last access.
        var rank = 0L;
        var ranks = new Dictionary<Guid, long>();
        foreach (var cachedObject in byId.Values.OrderBy(o => o.LastAccessUnixMs))
        {
            ranks[cachedObject.Id] = ++rank;
        }

        _clock = rank;
        foreach (var block in _metadata.ReadBlocks())
        {
            if (!byId.TryGetValue(block.Id, out var cachedObject)
                || block.Index < 0
                || block.Index >= cachedObject.BlockCount
                || block.Length != cachedObject.BlockLength(block.Index))
            {
                _metadata.DeleteBlock(block.Id, block.Index);
                orphans++;
                continue;
            }

            // A record without sub-block sums (written by an older version) is verified whole on its first read,
            // which then records its sums: upgrading a cache costs one read of each block, not a refetch.
            var entry = new BlockEntry(block.Length, speculative: false) { LegacyChecksum = block.LegacyChecksum, LastAccess = ranks[block.Id] };
            if (block.Sums is not null)
            {
                entry.SetSums(block.Sums);
            }

            cachedObject.LoadBlock(block.Index, entry);
            _sizeBytes += block.Length;
        }

        foreach (var (path, id) in _layout.EnumerateDataFiles())
        {
            if (id is null || !byId.ContainsKey(id.Value))
            {
                File.Delete(path);
                orphans++;
            }
        }

        _counters.OrphansReclaimed = orphans;
        _logger.LogInformation("Block cache at {Path}: {Objects} objects, {Bytes} bytes cached, {Orphans} orphans reclaimed", _options.Path, byId.Count, _sizeBytes, orphans);
    }
}
