using Azure.Storage;
using Azure.Storage.Blobs;
using WarpDrive.Backends.AzureBlob;

namespace WarpDrive.Backends.Tests.Contract;

/// <summary>The contract against a real azurite-blob process (shared-key auth checked).</summary>
[TestFixture]
public sealed class AzureBlobBackendContractTests : BackendContractTests
{
    private const string Account = "devstoreaccount1";
    // Azurite's well-known development key, published in Microsoft's Azurite documentation.
    private const string DevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private const string Container = "warpdrive-test";
    private const string KeyVariable = "WARPDRIVE_TEST_AZURE_KEY";
    private ServerProcess _server = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        var data = Directory.CreateTempSubdirectory("warpdrive-azurite-").FullName;
        _server = await ServerProcess.StartAsync(ServerProcess.NpmTool("azurite-blob"), data, port =>
            ["--blobHost", "127.0.0.1", "--blobPort", port.ToString(), "--location", data, "--silent", "--skipApiVersionCheck", "--loose"], ownsDataDirectory: true);
        Environment.SetEnvironmentVariable(KeyVariable, DevelopmentKey);
        Environment.SetEnvironmentVariable(KeyVariable + "_WRONG", Convert.ToBase64String(new byte[64]));
        var container = new BlobContainerClient(new Uri($"http://127.0.0.1:{_server.Port}/{Account}/{Container}"), new StorageSharedKeyCredential(Account, DevelopmentKey));
        await container.CreateIfNotExistsAsync();
    }

    [OneTimeTearDown]
    public void StopServer() => _server?.Dispose();

    private static Dictionary<string, string> Config(int port, string keySuffix = "") => new()
    {
        ["account"] = Account,
        ["container"] = Container,
        ["endpoint"] = $"http://127.0.0.1:{port}/{Account}",
        ["account_key_env"] = KeyVariable + keySuffix,
    };

    protected override IBackend CreateBackend(string prefix, IReadOnlyDictionary<string, string> extraConfig)
    {
        var config = Config(_server.Port);
        config["prefix"] = prefix;
        foreach (var (k, v) in extraConfig)
        {
            config[k] = v;
        }
        return BackendFactory.Create("azure-test", "azureblob", config);
    }

    protected override IBackend CreateBackendWithWrongCredentials() => new AzureBlobBackend("azure-wrong", Config(_server.Port, "_WRONG"));

    protected override IBackend CreateUnreachableBackend(int closedPort, IReadOnlyDictionary<string, string> extraConfig)
    {
        var config = Config(closedPort);
        foreach (var (k, v) in extraConfig)
        {
            config[k] = v;
        }
        return new AzureBlobBackend("azure-unreachable", config);
    }
}
