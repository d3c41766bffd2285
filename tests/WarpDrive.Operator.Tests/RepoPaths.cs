namespace WarpDrive.Operator.Tests;

/// <summary>Finds the repository root (the folder holding WarpDrive.Operator.sln) from the test's output folder.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Of(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "WarpDrive.Operator.sln")))
            {
                return dir.FullName;
            }
        }

        // Built with --artifacts-path outside the repo: fall back to the source file's location.
        return Path.GetFullPath(Path.Combine(SourceDir(), "..", ".."));
    }

    private static string SourceDir([System.Runtime.CompilerServices.CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
