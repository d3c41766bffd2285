using System.Reflection;

namespace WarpDrive.Deploy.Tests;

/// <summary>Paths in the source tree (baked in at build time, so any --artifacts-path works).</summary>
public static class Repo
{
    public static string Root { get; } = typeof(Repo).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepoRoot").Value!;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);
}
