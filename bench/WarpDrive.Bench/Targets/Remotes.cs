namespace WarpDrive.Bench.Targets;

/// <summary>
/// Where the "remote" copies of the dataset live: the benchmark S3 responder (serving the dataset directory itself)
/// reached directly for the 0 ms figures and through the latency proxy for the RTT figures, and Azurite on
/// loopback, reached through the proxy by every target and directly (the upload endpoint) to create the data.
/// The credentials are the servers' published development keys, passed to clients by environment variable name.
/// </summary>
internal sealed record Remotes(IReadOnlyDictionary<int, string> S3Endpoints, string? AzureEndpoint, string? AzureUploadEndpoint)
{
    public const string Bucket = "warpdrive-bench";
    public const string Container = "warpdrive-bench";
    public const string AzureAccount = "devstoreaccount1";
    public const string S3AccessKeyVariable = "WARPDRIVE_BENCH_S3_ACCESS_KEY";
    public const string S3SecretKeyVariable = "WARPDRIVE_BENCH_S3_SECRET_KEY";
    public const string AzureKeyVariable = "WARPDRIVE_BENCH_AZURE_KEY";

    // s3rver's and Azurite's well-known development credentials (from their own documentation); not secrets.
    public const string S3DevelopmentKey = "S3RVER";
    public const string AzureDevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>Puts the development keys where the backends and child processes look for them.</summary>
    public static void ExportCredentials()
    {
        Environment.SetEnvironmentVariable(S3AccessKeyVariable, S3DevelopmentKey);
        Environment.SetEnvironmentVariable(S3SecretKeyVariable, S3DevelopmentKey);
        Environment.SetEnvironmentVariable(AzureKeyVariable, AzureDevelopmentKey);
    }

    public Dictionary<string, string> AzureConfig(bool upload) => new()
    {
        ["account"] = AzureAccount,
        ["container"] = Container,
        ["endpoint"] = $"{(upload ? AzureUploadEndpoint : AzureEndpoint)}/{AzureAccount}",
        ["account_key_env"] = AzureKeyVariable,
    };
}
