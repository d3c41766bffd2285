// The benchmark drives FUSE mounts, /proc and Linux tools: it only runs on Linux.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("WarpDrive.Bench.Tests")]
[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("WarpDrive.Bench.Micro")]
