namespace WarpDrive.Telemetry;

/// <summary>Takes access events from the FUSE path. Implementations never block and never throw.</summary>
public interface IAccessRecorder
{
    void Record(in AccessEvent accessEvent);
}

/// <summary>Telemetry switched off: every event is ignored.</summary>
public sealed class NullAccessRecorder : IAccessRecorder
{
    public static NullAccessRecorder Instance { get; } = new();

    private NullAccessRecorder()
    {
    }

    public void Record(in AccessEvent accessEvent)
    {
    }
}
