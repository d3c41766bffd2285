namespace WarpDrive.Bench.Targets;

/// <summary>
/// s3fs-fuse (Debian's s3fs) over the same S3 bucket at the same round trip, in the foreground, with its
/// disk cache (use_cache) so it has a hot mode like the others. The key file holds s3rver's development key.
/// </summary>
internal sealed class S3fsTarget(string workDirectory, string endpoint, int rttMs) : MountTarget("s3fs", workDirectory, rttMs)
{
    public override string Root => MountPoint;

    protected override ChildProcess Start()
    {
        var passwordFile = Path.Combine(Directory, "passwd-s3fs");
        File.WriteAllText(passwordFile, $"{Remotes.S3DevelopmentKey}:{Remotes.S3DevelopmentKey}\n");
        File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return ChildProcess.Start(Name, "s3fs",
            [Remotes.Bucket, MountPoint, "-f", "-o", $"url={endpoint},use_path_request_style,passwd_file={passwordFile},use_cache={CacheDirectory},ro"],
            LogPath);
    }
}
