namespace WarpDrive.Bench.Targets;

/// <summary>
/// `rclone mount --vfs-cache-mode full` of the same S3 bucket, at the same round trip as the other S3 clients. The remote is
/// configured entirely by RCLONE_CONFIG_* variables, so no rclone.conf is written; other settings are defaults.
/// </summary>
internal sealed class RcloneMountTarget(string workDirectory, string endpoint, int rttMs) : MountTarget("rclone-mount", workDirectory, rttMs)
{
    public override string Root => MountPoint;

    protected override ChildProcess Start()
    {
        var environment = new Dictionary<string, string?>
        {
            ["RCLONE_CONFIG_BENCHS3_TYPE"] = "s3",
            ["RCLONE_CONFIG_BENCHS3_PROVIDER"] = "Other",
            ["RCLONE_CONFIG_BENCHS3_ENV_AUTH"] = "false",
            ["RCLONE_CONFIG_BENCHS3_ACCESS_KEY_ID"] = Remotes.S3DevelopmentKey,
            ["RCLONE_CONFIG_BENCHS3_SECRET_ACCESS_KEY"] = Remotes.S3DevelopmentKey,
            ["RCLONE_CONFIG_BENCHS3_FORCE_PATH_STYLE"] = "true",
            ["RCLONE_CONFIG_BENCHS3_REGION"] = "us-east-1",
            // rclone's AWS SDK refuses a custom CA bundle on its HTTP transport; the endpoint is plain HTTP anyway.
            ["AWS_CA_BUNDLE"] = null,
        };
        return ChildProcess.Start(Name, "rclone",
            ["mount", $"benchs3:{Remotes.Bucket}", MountPoint, "--s3-endpoint", endpoint, "--read-only",
             "--vfs-cache-mode", "full", "--cache-dir", CacheDirectory, "--config", "/dev/null"],
            LogPath, environment);
    }
}
