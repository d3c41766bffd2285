namespace WarpDrive.Backends.Tests;

internal static class TestData
{
    /// <summary>Deterministic pseudo-random bytes, so a failing offset can be reproduced.</summary>
    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    public static async Task<List<BackendEntry>> ToListAsync(this IAsyncEnumerable<BackendEntry> entries)
    {
        var list = new List<BackendEntry>();
        await foreach (var entry in entries)
        {
            list.Add(entry);
        }
        return list;
    }
}
