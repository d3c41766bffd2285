using System.Diagnostics;
using System.Diagnostics.Metrics;
using WarpDrive.Fuse.Protocol;

namespace WarpDrive.Fuse;

/// <summary>
/// Per-opcode counts and latencies, published on the "WarpDrive.Fuse" meter. The host exports them
/// (Prometheus: warpdrive_fuse_operations_total, warpdrive_fuse_operation_duration_seconds); with no
/// listener attached, recording costs one branch.
/// </summary>
public static class FuseMetrics
{
    public const string MeterName = "WarpDrive.Fuse";

    private static readonly Meter Meter = new(MeterName);

    private static readonly Counter<long> Operations =
        Meter.CreateCounter<long>("warpdrive_fuse_operations", description: "FUSE requests answered, by opcode.");

    private static readonly Histogram<double> Duration =
        Meter.CreateHistogram<double>("warpdrive_fuse_operation_duration", unit: "s", description: "Time from reading a FUSE request to writing its reply, by opcode.");

    /// <summary>Opcode names, interned once so tagging allocates nothing.</summary>
    private static readonly string[] Names = BuildNames();

    internal static long Start() => Operations.Enabled || Duration.Enabled ? Stopwatch.GetTimestamp() : 0;

    internal static void Record(Opcode opcode, long started)
    {
        if (started == 0)
        {
            return;
        }

        var tag = new KeyValuePair<string, object?>("operation", Name(opcode));
        Operations.Add(1, tag);
        Duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, tag);
    }

    private static string Name(Opcode opcode) => (uint)opcode < (uint)Names.Length ? Names[(int)opcode] : "other";

    private static string[] BuildNames()
    {
        var names = new string[(int)Opcode.Statx + 1];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = Enum.IsDefined((Opcode)i) ? ((Opcode)i).ToString().ToLowerInvariant() : "other";
        }

        return names;
    }
}
