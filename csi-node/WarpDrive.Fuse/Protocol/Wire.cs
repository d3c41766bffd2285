using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace WarpDrive.Fuse.Protocol;

/// <summary>
/// The kernel's wire structures. Everything is little-endian and naturally aligned, so the fixed-size
/// parts are read and written with <see cref="MemoryMarshal"/> over explicit-layout structs whose sizes
/// are checked against the kernel's once at startup (<see cref="VerifyLayouts"/>).
/// </summary>
internal static class Wire
{
    /// <summary>fuse_in_header: len u32 | opcode u32 | unique u64 | nodeid u64 | uid u32 | gid u32 | pid u32 | total_extlen u16 | pad u16.</summary>
    public const int InHeaderSize = 40;

    /// <summary>fuse_out_header: len u32 | error i32 | unique u64.</summary>
    public const int OutHeaderSize = 16;

    /// <summary>fuse_attr: 6×u64 (ino size blocks atime mtime ctime) + 10×u32.</summary>
    public const int AttrSize = 88;

    /// <summary>fuse_entry_out: nodeid generation entry_valid attr_valid (u64) | 2×u32 nsec | fuse_attr.</summary>
    public const int EntryOutSize = 40 + AttrSize;

    /// <summary>fuse_attr_out: attr_valid u64 | attr_valid_nsec u32 | dummy u32 | fuse_attr.</summary>
    public const int AttrOutSize = 16 + AttrSize;

    /// <summary>fuse_dirent without its name: ino u64 | off u64 | namelen u32 | type u32.</summary>
    public const int DirentSize = 24;

    public const int OpenOutSize = 16;
    public const int StatFsOutSize = 80;
    public const int InitOutSize = 64;
    /// <summary>fuse_statx_out: 32-byte header then the 256-byte statx(2) structure.</summary>
    public const int StatxOutSize = 288;

    public static int Align8(int size) => (size + 7) & ~7;

    public static void VerifyLayouts()
    {
        Check<InHeader>(InHeaderSize);
        Check<OutHeader>(OutHeaderSize);
        Check<InitIn>(64);
        Check<InitOut>(InitOutSize);
        Check<ReadIn>(40);
        Check<OpenIn>(8);
        Check<ReleaseIn>(24);
        Check<GetAttrIn>(16);
        Check<GetXattrIn>(8);
        Check<AccessIn>(8);
        Check<LSeekIn>(24);
        Check<ForgetOne>(16);
        Check<BatchForgetIn>(8);
        Check<InterruptIn>(8);
        Check<StatxIn>(24);
        Check<BackingMap>(16);

        static void Check<T>(int expected)
            where T : unmanaged
        {
            var actual = Unsafe.SizeOf<T>();
            if (actual != expected)
            {
                throw new InvalidOperationException($"FUSE wire struct {typeof(T).Name} is {actual} bytes, the kernel expects {expected}.");
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref readonly T Read<T>(ReadOnlySpan<byte> source)
        where T : unmanaged => ref MemoryMarshal.AsRef<T>(source);

    public static void WriteOutHeader(Span<byte> destination, int length, Errno error, ulong unique)
    {
        ref var header = ref MemoryMarshal.AsRef<OutHeader>(destination);
        header.Len = (uint)length;
        header.Error = -(int)error;
        header.Unique = unique;
    }

    public static void WriteAttr(Span<byte> destination, in FileAttributes attributes)
    {
        var seconds = attributes.MTime.ToUnixTimeSeconds();
        var nanos = (uint)(attributes.MTime.UtcTicks % TimeSpan.TicksPerSecond * 100);
        BinaryPrimitives.WriteUInt64LittleEndian(destination, attributes.Ino);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], attributes.Size);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], (attributes.Size + 511) / 512);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], seconds);
        BinaryPrimitives.WriteInt64LittleEndian(destination[32..], seconds);
        BinaryPrimitives.WriteInt64LittleEndian(destination[40..], seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[48..], nanos);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[52..], nanos);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[56..], nanos);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[60..], attributes.Mode);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[64..], attributes.NLink);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[68..], attributes.Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[72..], attributes.Gid);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[76..], 0); // rdev
        BinaryPrimitives.WriteUInt32LittleEndian(destination[80..], attributes.BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[84..], 0); // flags
    }

    public static void WriteEntryOut(Span<byte> destination, in FuseEntry entry)
    {
        var (entrySeconds, entryNanos) = SplitTimeout(entry.EntryTimeout);
        var (attrSeconds, attrNanos) = SplitTimeout(entry.AttributeTimeout);
        BinaryPrimitives.WriteUInt64LittleEndian(destination, entry.NodeId);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], entry.Generation);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], entrySeconds);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], attrSeconds);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[32..], entryNanos);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[36..], attrNanos);
        WriteAttr(destination[40..], entry.Attributes);
    }

    public static void WriteAttrOut(Span<byte> destination, in FuseAttributesReply reply)
    {
        var (seconds, nanos) = SplitTimeout(reply.Timeout);
        BinaryPrimitives.WriteUInt64LittleEndian(destination, seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], nanos);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], 0);
        WriteAttr(destination[16..], reply.Attributes);
    }

    /// <summary>fuse_statx_out: attr_valid u64 | nsec u32 | flags u32 | spare 2×u64 | struct statx (the statx(2) ABI, 256 bytes).</summary>
    public static void WriteStatxOut(Span<byte> destination, in FuseAttributesReply reply)
    {
        destination[..StatxOutSize].Clear();
        var (seconds, nanos) = SplitTimeout(reply.Timeout);
        BinaryPrimitives.WriteUInt64LittleEndian(destination, seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], nanos);
        var sx = destination[32..];
        var a = reply.Attributes;
        const uint basicStats = 0x7FF; // STATX_BASIC_STATS
        BinaryPrimitives.WriteUInt32LittleEndian(sx, basicStats);
        BinaryPrimitives.WriteUInt32LittleEndian(sx[4..], a.BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(sx[16..], a.NLink);
        BinaryPrimitives.WriteUInt32LittleEndian(sx[20..], a.Uid);
        BinaryPrimitives.WriteUInt32LittleEndian(sx[24..], a.Gid);
        BinaryPrimitives.WriteUInt16LittleEndian(sx[28..], (ushort)a.Mode);
        BinaryPrimitives.WriteUInt64LittleEndian(sx[32..], a.Ino);
        BinaryPrimitives.WriteUInt64LittleEndian(sx[40..], a.Size);
        BinaryPrimitives.WriteUInt64LittleEndian(sx[48..], (a.Size + 511) / 512);
        var secondsM = a.MTime.ToUnixTimeSeconds();
        var nanosM = (uint)(a.MTime.UtcTicks % TimeSpan.TicksPerSecond * 100);
        // atime, btime, ctime, mtime: each { i64 sec, u32 nsec, i32 reserved } starting at 64.
        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(sx[(64 + (i * 16))..], secondsM);
            BinaryPrimitives.WriteUInt32LittleEndian(sx[(72 + (i * 16))..], nanosM);
        }
    }

    private static (ulong Seconds, uint Nanos) SplitTimeout(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return (0, 0);
        }

        var ticks = timeout.Ticks;
        return ((ulong)(ticks / TimeSpan.TicksPerSecond), (uint)(ticks % TimeSpan.TicksPerSecond * 100));
    }
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct InHeader
{
    public uint Len;
    public Opcode Opcode;
    public ulong Unique;
    public ulong NodeId;
    public uint Uid;
    public uint Gid;
    public uint Pid;
    public ushort TotalExtLen;
    public ushort Padding;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct OutHeader
{
    public uint Len;
    public int Error;
    public ulong Unique;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct InitIn
{
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    public uint Flags;
    public uint Flags2;
    public unsafe fixed uint Unused[11];
}

/// <summary>fuse_init_out: major minor max_readahead flags | max_background congestion_threshold (u16) | max_write time_gran | max_pages map_alignment (u16) | flags2 max_stack_depth | 6×u32.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct InitOut
{
    public uint Major;
    public uint Minor;
    public uint MaxReadahead;
    public uint Flags;
    public ushort MaxBackground;
    public ushort CongestionThreshold;
    public uint MaxWrite;
    public uint TimeGran;
    public ushort MaxPages;
    public ushort MapAlignment;
    public uint Flags2;
    public uint MaxStackDepth;
    public unsafe fixed uint Unused[6];
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct ReadIn
{
    public ulong Fh;
    public ulong Offset;
    public uint Size;
    public uint ReadFlags;
    public ulong LockOwner;
    public uint Flags;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct OpenIn
{
    public int Flags;
    public uint OpenFlags;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct ReleaseIn
{
    public ulong Fh;
    public uint Flags;
    public uint ReleaseFlags;
    public ulong LockOwner;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct GetAttrIn
{
    public const uint FlagFh = 1;
    public uint GetAttrFlags;
    public uint Dummy;
    public ulong Fh;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct StatxIn
{
    public uint GetAttrFlags;
    public uint Reserved;
    public ulong Fh;
    public uint SxFlags;
    public uint SxMask;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct GetXattrIn
{
    public uint Size;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct AccessIn
{
    public int Mask;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct LSeekIn
{
    public ulong Fh;
    public long Offset;
    public int Whence;
    public uint Padding;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct ForgetOne
{
    public ulong NodeId;
    public ulong NLookup;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct BatchForgetIn
{
    public uint Count;
    public uint Dummy;
}

[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct InterruptIn
{
    public ulong Unique;
}

/// <summary>fuse_backing_map: fd i32 | flags u32 | padding u64 (argument of FUSE_DEV_IOC_BACKING_OPEN).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 1)]
internal struct BackingMap
{
    public int Fd;
    public uint Flags;
    public ulong Padding;
}
