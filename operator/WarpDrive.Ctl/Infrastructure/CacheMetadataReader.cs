using RocksDbSharp;
using WarpDrive.Cache;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>
/// Counts what a block cache holds by reading its RocksDB metadata read-only. Follows the key layout documented on
/// WarpDrive.Cache's MetadataStore: <c>'o' + id</c> per object, <c>'b' + id + index</c> per present block, whose value
/// is read with the cache's own <see cref="BlockRecordLayout"/> (both record formats).
/// </summary>
internal static class CacheMetadataReader
{
    public static (long Objects, long Bytes) Count(string cacheDirectory)
    {
        var meta = Path.Combine(cacheDirectory, "meta");
        if (!File.Exists(Path.Combine(meta, "CURRENT")))
        {
            throw new CtlException($"{cacheDirectory} is not a WarpDrive cache directory (no meta/ database inside)");
        }

        RocksDb db;
        try
        {
            db = RocksDb.OpenReadOnly(new DbOptions(), meta, false);
        }
        catch (RocksDbException e)
        {
            throw new CtlException($"{cacheDirectory}: cannot read the cache's metadata database ({UsageErrors.OneLine(e.Message)})");
        }

        using var _ = db;
        using var iterator = db.NewIterator();
        long objects = 0;
        long bytes = 0;
        for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
        {
            var key = iterator.Key();
            if (key.Length == 17 && key[0] == (byte)'o')
            {
                objects++;
            }
            else if (key.Length == 25 && key[0] == (byte)'b')
            {
                if (BlockRecordLayout.TryReadLength(iterator.Value(), out var length))
                {
                    bytes += length;
                }
            }
        }

        return (objects, bytes);
    }
}
