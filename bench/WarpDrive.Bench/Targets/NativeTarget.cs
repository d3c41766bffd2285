namespace WarpDrive.Bench.Targets;

/// <summary>The source directory read directly: cold means the page cache was dropped, hot that it holds the data.</summary>
internal sealed class NativeTarget(string root) : ITarget
{
    public string Name => "native";

    public int? RttMs => null;

    public string Root => root;

    public int? ServingPid => null;

    public bool IsWarpDrive => false;

    public void MakeCold() => PageCache.TryDrop();

    public void MakeHot()
    {
    }

    public double PeakRssMiB() => 0;

    public void Dispose()
    {
    }
}
