using WarpDrive.Backends;
using WarpDrive.Config;

namespace WarpDrive.Auth.Tests;

/// <summary>
/// <c>service_principal</c> and <c>workload_identity</c> on azureblob end to end: Azure.Identity gets a JWT-shaped token from the Entra
/// endpoint double, and the real backend sends it as a bearer token over HTTPS to a real Azurite in OAuth mode,
/// which checks its audience, issuer and lifetime. The backend trusts Azurite's self-signed certificate through
/// its <c>ca_file</c> key, as a private endpoint's CA would be trusted.
/// </summary>
[TestFixture]
public sealed class AzureBlobBearerTests
{
    private const string ClientSecret = "client-secret-value-never-logged";
    private const string ProjectedToken = "projected-service-account-token";
    private const string Container = "bearer";
    private const string BlobPath = "data/shard-0.bin";
    private static readonly byte[] Content = Enumerable.Range(0, 64 * 1024).Select(i => (byte)(i * 31 % 251)).ToArray();
    private AzuriteOAuthProcess _azurite = null!;
    private IdentityEndpointsTestDouble _entra = null!;
    private CapturingLoggerProvider _logs = null!;
    private AuthAudit _audit = null!;
    private TempDirectory _dir = null!;

    [OneTimeSetUp]
    public async Task StartAzurite()
    {
        _azurite = await AzuriteOAuthProcess.StartAsync();
        var seed = _azurite.SharedKeyContainer(Container);
        await seed.CreateIfNotExistsAsync();
        await seed.GetBlobClient(BlobPath).UploadAsync(new BinaryData(Content), overwrite: true);
    }

    [OneTimeTearDown]
    public void StopAzurite() => _azurite.Dispose();

    [SetUp]
    public void Start()
    {
        _entra = new IdentityEndpointsTestDouble { EntraJwtAudience = "https://storage.azure.com" };
        _logs = new CapturingLoggerProvider();
        _audit = new AuthAudit();
        _dir = new TempDirectory();
        Environment.SetEnvironmentVariable("WARPDRIVE_TEST_AZ_CLIENT_SECRET", ClientSecret);
    }

    [TearDown]
    public void Stop()
    {
        _entra.Dispose();
        _logs.Dispose();
        _dir.Dispose();
        Environment.SetEnvironmentVariable("WARPDRIVE_TEST_AZ_CLIENT_SECRET", null);
    }

    private IBackend Create(string method = AuthMethods.ServicePrincipal)
    {
        var auth = new Dictionary<string, string>
        {
            ["tenant_id"] = "tenant-1",
            ["client_id"] = "app-1",
            ["retry_base_delay"] = "50ms",
        };
        if (method == AuthMethods.WorkloadIdentity)
        {
            auth["token_file"] = _dir.File("projected-token", ProjectedToken);
        }
        else
        {
            auth["client_secret_env"] = "WARPDRIVE_TEST_AZ_CLIENT_SECRET";
        }
        var config = new NodeConfig
        {
            Backends =
            [
                Backends.Config("training", BackendTypes.AzureBlob, new Dictionary<string, string>
                {
                    ["account"] = AzuriteOAuthProcess.Account,
                    ["container"] = Container,
                    ["endpoint"] = _azurite.Endpoint,
                    ["ca_file"] = _azurite.CertificateFile,
                    ["retry_base_delay"] = "50ms",
                    ["timeout"] = "10s",
                }, method, auth),
            ],
        };
        var options = new FederationOptions { Audit = _audit, IdentityHttpHandler = () => new LoopbackRedirectHandler(_entra.Port) };
        return CredentialFederation.CreateBackend(config, config.Backends[0], new BackendServices { LoggerFactory = _logs }, options);
    }

    private static async Task<byte[]> ReadRange(IBackend backend, long offset, int length)
    {
        var buffer = new byte[length];
        var read = await backend.ReadAtAsync(BlobPath, offset, buffer, CancellationToken.None);
        return buffer[..read];
    }

    [TestCase(AuthMethods.ServicePrincipal, "client_secret=")]
    [TestCase(AuthMethods.WorkloadIdentity, "client_assertion=" + ProjectedToken)]
    public async Task Bearer_token_from_the_entra_endpoint_lists_and_reads_ranges(string method, string proof)
    {
        await using var backend = Create(method);

        var listing = await backend.ListAsync("data", recursive: false, CancellationToken.None).ToListAsync();
        var range = await ReadRange(backend, 1000, 4096);
        var tail = await ReadRange(backend, Content.Length - 10, 100);

        var tokenRequest = _entra.Requests.Single(r => r.Service == "entra");
        Assert.Multiple(() =>
        {
            Assert.That(listing.Select(e => (e.Path, e.Size)), Is.EqualTo(new[] { (BlobPath, (long)Content.Length) }));
            Assert.That(range, Is.EqualTo(Content[1000..5096]));
            Assert.That(tail, Is.EqualTo(Content[^10..]));
            Assert.That(tokenRequest.PathAndQuery, Does.StartWith("/tenant-1/oauth2/v2.0/token"));
            Assert.That(tokenRequest.Body, Does.Contain(Uri.EscapeDataString("https://storage.azure.com/.default")).And.Contain(proof));
            Assert.That(_audit.Snapshot().Single(), Has.Property("Success").True.And.Property("Provider").EqualTo(method));
            Assert.That(_logs.All, Does.Not.Contain(ClientSecret).And.Not.Contain(ProjectedToken));
        });
    }

    [Test]
    public async Task A_token_for_another_audience_is_refused_by_the_store_as_access_denied()
    {
        _entra.EntraJwtAudience = "https://vault.azure.net";
        await using var backend = Create();

        var e = Assert.ThrowsAsync<BackendException>(async () => await ReadRange(backend, 0, 16));
        Assert.ThrowsAsync<BackendException>(async () => await backend.StatAsync(BlobPath, CancellationToken.None));

        var warnings = _logs.Warnings.ToList();
        Assert.Multiple(() =>
        {
            Assert.That(e!.Kind, Is.EqualTo(BackendErrorKind.AccessDenied));
            Assert.That(e.Message, Does.Contain("403").And.Contain("AuthenticationFailed"));
            Assert.That(_audit.Snapshot(), Has.All.Property("Success").True, "the identity endpoint issued the token; the store refused it");
            Assert.That(warnings, Has.Count.EqualTo(1));
            Assert.That(warnings[0], Does.Contain("training").And.Contain("service_principal"));
            Assert.That(_logs.All + e.Message, Does.Not.Contain(ClientSecret).And.Not.Contain("eyJ"), "no secret and no JWT in logs or messages");
        });
    }

    [Test]
    public async Task The_token_is_renewed_five_minutes_before_it_expires_and_reads_continue()
    {
        // Issued for 5 min + 2 s: fresh for about two seconds, then due for renewal (and still valid).
        _entra.ExpiresIn = TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(2);
        await using var backend = Create();

        var first = await ReadRange(backend, 0, 256);
        await ReadRange(backend, 256, 256);
        var beforeDue = _entra.Count("entra");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var afterDue = await ReadRange(backend, 512, 256);
        var again = await ReadRange(backend, 768, 256);

        Assert.Multiple(() =>
        {
            Assert.That(beforeDue, Is.EqualTo(1));
            Assert.That(_entra.Count("entra"), Is.EqualTo(2));
            Assert.That(first, Is.EqualTo(Content[..256]));
            Assert.That(afterDue, Is.EqualTo(Content[512..768]));
            Assert.That(again, Is.EqualTo(Content[768..1024]));
            Assert.That(_audit.Snapshot(), Has.Count.EqualTo(2).And.All.Property("Success").True);
        });
    }

}

/// <summary>azureblob's <c>ca_file</c> key: refused early, naming the key, when it cannot be used.</summary>
[TestFixture]
public sealed class AzureBlobCaFileTests
{
    [Test]
    public void Ca_file_must_be_an_absolute_path()
    {
        var yaml = "mount_point: /mnt/wd\nbackends:\n  - name: a\n    type: azureblob\n    config: { container: c, account: acct, ca_file: certs/ca.pem }\n";

        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadYaml(yaml, _ => null));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Key, Is.EqualTo("backends[0].config.ca_file"));
            Assert.That(e.Message, Does.Contain("certs/ca.pem").And.Contain("absolute"));
        });
    }

    [Test]
    public void A_ca_file_without_a_certificate_is_refused_when_the_backend_is_created()
    {
        using var dir = new TempDirectory();
        var notPem = dir.File("ca.pem", "not a certificate\n");

        var e = Assert.Throws<BackendConfigException>(() => BackendFactory.Create("b", BackendTypes.AzureBlob,
            new Dictionary<string, string> { ["account"] = "acct", ["container"] = "c", ["ca_file"] = notPem }, new BackendServices()));

        Assert.That(e!.Message, Does.Contain("ca_file").And.Contain(notPem));
    }
}
