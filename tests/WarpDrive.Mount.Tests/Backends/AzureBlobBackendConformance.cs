using Azure.Storage;
using Azure.Storage.Blobs;

namespace WarpDrive.Mount.Tests.Backends;

/// <summary>The POSIX read-conformance suite over an azureblob backend against a real azurite-blob (shared-key auth checked).</summary>
[NonParallelizable]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "NUnit releases fixtures through OneTimeTearDown, which calls StopServer")]
public sealed class AzureBlobBackendConformance : BackendConformance
{
    private const string Account = "devstoreaccount1";

    // Azurite's well-known development key, published in Microsoft's Azurite documentation.
    private const string DevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    private const string Container = "conformance";
    private const string KeyVariable = "WARPDRIVE_MOUNT_TEST_AZURE_KEY";
    private ServerProcess? _server;

    /// <summary>Azurite keeps blobs in a LokiJS database on disk: 10,000 uploads take minutes on 2 cores.</summary>
    protected override int LargeDirectoryEntryCount => 2_000;

    protected override string BackendType => "azureblob";

    protected override async Task<IReadOnlyDictionary<string, string>> StartServerAsync(TestSandbox sandbox)
    {
        var data = Directory.CreateDirectory(Path.Combine(sandbox.Root, "azurite")).FullName;
        _server = await ServerProcess.StartAsync(ServerProcess.NpmTool("azurite-blob"), data,
            port => ["--blobHost", "127.0.0.1", "--blobPort", port.ToString(), "--location", data, "--silent", "--skipApiVersionCheck", "--loose"]);

        // The backend does not create containers (a mount only reads), so the SDK does it here.
        var endpoint = $"http://127.0.0.1:{_server.Port}/{Account}";
        await new BlobContainerClient(new Uri($"{endpoint}/{Container}"), new StorageSharedKeyCredential(Account, DevelopmentKey)).CreateIfNotExistsAsync();
        Environment.SetEnvironmentVariable(KeyVariable, DevelopmentKey); // the agent inherits it
        return new Dictionary<string, string>
        {
            ["account"] = Account,
            ["container"] = Container,
            ["endpoint"] = endpoint,
            ["account_key_env"] = KeyVariable,
        };
    }

    protected override void StopServer()
    {
        _server?.Dispose();
        _server = null;
    }
}
