namespace WarpDrive.Node.Commands;

/// <summary>Process exit codes, the same for every command.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    /// <summary>Bad command line or configuration: fix the input, retrying won't help.</summary>
    public const int Usage = 2;
}
