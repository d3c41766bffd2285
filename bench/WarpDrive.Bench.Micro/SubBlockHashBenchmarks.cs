using System.IO.Hashing;
using System.Numerics;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;

namespace WarpDrive.Bench.Micro;

/// <summary>
/// The candidates for the cache's per-sub-block checksum, over one 64 KiB sub-block (a 128 KiB FUSE read verifies
/// two): XxHash3 (64-bit, vectorised), CRC-32 (System.IO.Hashing, carry-less-multiply vectorised) and CRC-32C with
/// the SSE4.2 instruction one 8-byte word at a time (BitOperations.Crc32C). The cache uses the one chosen in its
/// README; this keeps the comparison reproducible.
/// </summary>
[MemoryDiagnoser]
public class SubBlockHashBenchmarks
{
    private readonly byte[] _subBlock = new byte[64 << 10];

    [GlobalSetup]
    public void SetUp() => new Random(1).NextBytes(_subBlock);

    [Benchmark(Baseline = true, Description = "XxHash3, 64 KiB")]
    public ulong XxHash3Sum() => XxHash3.HashToUInt64(_subBlock);

    [Benchmark(Description = "CRC-32 (System.IO.Hashing), 64 KiB")]
    public uint Crc32Sum() => Crc32.HashToUInt32(_subBlock);

    [Benchmark(Description = "CRC-32C (BitOperations.Crc32C, 8 bytes per step), 64 KiB")]
    public uint Crc32CSum()
    {
        var crc = uint.MaxValue;
        foreach (var word in MemoryMarshal.Cast<byte, ulong>(_subBlock))
        {
            crc = BitOperations.Crc32C(crc, word);
        }

        return ~crc;
    }
}
