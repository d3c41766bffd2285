using WarpDrive.Backends.S3;

namespace WarpDrive.Backends.Tests.Contract;

/// <summary>The contract against a real s3rver process (signature-checking, path-style).</summary>
[TestFixture]
public sealed class S3BackendContractTests : BackendContractTests
{
    private const string Bucket = "warpdrive-test";
    // s3rver's built-in development credentials (documented in its README).
    private const string AccessKeyVariable = "WARPDRIVE_TEST_S3_ACCESS_KEY";
    private const string SecretKeyVariable = "WARPDRIVE_TEST_S3_SECRET_KEY";
    private ServerProcess _server = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        _server = await ServerProcess.StartS3rverAsync(Bucket);
        Environment.SetEnvironmentVariable(AccessKeyVariable, "S3RVER");
        Environment.SetEnvironmentVariable(SecretKeyVariable, "S3RVER");
        Environment.SetEnvironmentVariable(AccessKeyVariable + "_WRONG", "NOT-A-KNOWN-KEY");
        Environment.SetEnvironmentVariable(SecretKeyVariable + "_WRONG", "not-the-secret");
    }

    [OneTimeTearDown]
    public void StopServer() => _server?.Dispose();

    private Dictionary<string, string> Config(int port, string suffix = "") => new()
    {
        ["bucket"] = Bucket,
        ["endpoint"] = $"http://127.0.0.1:{port}",
        ["path_style"] = "true",
        ["access_key_env"] = AccessKeyVariable + suffix,
        ["secret_key_env"] = SecretKeyVariable + suffix,
    };

    protected override IBackend CreateBackend(string prefix, IReadOnlyDictionary<string, string> extraConfig)
    {
        var config = Config(_server.Port);
        config["prefix"] = prefix;
        foreach (var (k, v) in extraConfig)
        {
            config[k] = v;
        }
        return BackendFactory.Create("s3-test", "s3", config);
    }

    protected override IBackend CreateBackendWithWrongCredentials() => new S3Backend("s3-wrong", Config(_server.Port, "_WRONG"));

    protected override IBackend CreateUnreachableBackend(int closedPort, IReadOnlyDictionary<string, string> extraConfig)
    {
        var config = Config(closedPort);
        foreach (var (k, v) in extraConfig)
        {
            config[k] = v;
        }
        return new S3Backend("s3-unreachable", config);
    }
}
