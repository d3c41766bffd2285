using WarpDrive.Backends.Gcs;

namespace WarpDrive.Backends.Tests.Contract;

/// <summary>The contract for the GCS backend, against <see cref="GcsApiTestDouble"/> (no GCS emulator runs here).</summary>
[TestFixture]
public sealed class GcsBackendAgainstGcsApiTestDoubleContractTests : BackendContractTests
{
    private const string Bucket = "warpdrive-test";
    private const string Token = "test-token-for-the-double";
    private GcsApiTestDouble _server = null!;

    [OneTimeSetUp]
    public void StartServer() => _server = new GcsApiTestDouble(Bucket, Token);

    [OneTimeTearDown]
    public void StopServer() => _server?.Dispose();

    private static Dictionary<string, string> Config(int port) => new()
    {
        ["bucket"] = Bucket,
        ["endpoint"] = $"http://127.0.0.1:{port}",
    };

    protected override IBackend CreateBackend(string prefix, IReadOnlyDictionary<string, string> extraConfig)
    {
        var config = Config(_server.Port);
        config["prefix"] = prefix;
        foreach (var (k, v) in extraConfig)
        {
            config[k] = v;
        }
        return BackendFactory.Create("gcs-test", "gcs", config, new BackendServices { GcsTokenSource = _ => ValueTask.FromResult(Token) });
    }

    protected override IBackend CreateBackendWithWrongCredentials() =>
        new GcsBackend("gcs-wrong", Config(_server.Port), _ => ValueTask.FromResult("wrong-token"));

    protected override IBackend CreateUnreachableBackend(int closedPort, IReadOnlyDictionary<string, string> extraConfig)
    {
        var config = Config(closedPort);
        foreach (var (k, v) in extraConfig)
        {
            config[k] = v;
        }
        return new GcsBackend("gcs-unreachable", config, _ => ValueTask.FromResult(Token));
    }
}
