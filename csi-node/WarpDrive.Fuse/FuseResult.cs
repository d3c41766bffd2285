namespace WarpDrive.Fuse;

/// <summary>
/// A value or an errno. Filesystem methods return this instead of throwing, because "not found" and
/// friends are ordinary answers on the hot path and exceptions would cost more than the lookup itself.
/// </summary>
public readonly struct FuseResult<T>
{
    private FuseResult(Errno error, T value)
    {
        Error = error;
        Value = value;
    }

    public Errno Error { get; }

    public T Value { get; }

    public bool IsOk => Error == Errno.Ok;

    public static implicit operator FuseResult<T>(T value) => new(Errno.Ok, value);

    public static implicit operator FuseResult<T>(Errno error) => new(error, default!);

    public override string ToString() => IsOk ? $"Ok({Value})" : Error.ToString();
}
