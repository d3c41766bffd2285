namespace WarpDrive.Ctl.Infrastructure;

/// <summary>A failure to report to the user in one line (exit code 1, or 2 for a usage error); never carries a secret.</summary>
internal sealed class CtlException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
}
