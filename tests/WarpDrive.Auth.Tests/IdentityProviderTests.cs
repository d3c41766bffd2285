using Azure.Core;
using WarpDrive.Auth.Providers;
using WarpDrive.Backends;
using WarpDrive.Config;

namespace WarpDrive.Auth.Tests;

/// <summary>
/// The Azure, GCP and Key Vault providers against <see cref="IdentityEndpointsTestDouble"/>: the real SDKs
/// (Azure.Identity, Google.Apis.Auth, Azure.Security.KeyVault.Secrets) speak to it over HTTP under their real host
/// names through <see cref="LoopbackRedirectHandler"/>.
/// </summary>
[TestFixture]
public sealed class IdentityProviderTests
{
    private const string ClientSecret = "client-secret-value-never-logged";
    private IdentityEndpointsTestDouble _double = null!;
    private TempDirectory _dir = null!;
    private CapturingLoggerProvider _logs = null!;
    private AuthAudit _audit = null!;

    [SetUp]
    public void Start()
    {
        _double = new IdentityEndpointsTestDouble();
        _dir = new TempDirectory();
        _logs = new CapturingLoggerProvider();
        _audit = new AuthAudit();
        Environment.SetEnvironmentVariable("WARPDRIVE_TEST_CLIENT_SECRET", ClientSecret);
    }

    [TearDown]
    public void Stop()
    {
        _double.Dispose();
        _dir.Dispose();
        _logs.Dispose();
    }

    private ICredentialProvider Provider(string type, string method, Dictionary<string, string> auth)
    {
        auth.TryAdd("retry_base_delay", "50ms");
        var config = Backends.Config("b", type, new Dictionary<string, string>(), method, auth);
        var options = new FederationOptions { Audit = _audit, IdentityHttpHandler = () => new LoopbackRedirectHandler(_double.Port) };
        return CredentialFederation.CreateProvider(config, 3, options, _logs.CreateLogger("test"));
    }

    private static async Task<string> StorageToken(ICredentialProvider provider) =>
        (await provider.Binding.Azure!.GetTokenAsync(new TokenRequestContext(AzureIdentityProvider.StorageScopes), CancellationToken.None)).Token;

    [Test]
    public async Task Service_principal_gets_a_storage_token_from_the_entra_token_endpoint()
    {
        using var provider = Provider("azureblob", AuthMethods.ServicePrincipal, new()
        {
            ["tenant_id"] = "tenant-1",
            ["client_id"] = "app-1",
            ["client_secret_env"] = "WARPDRIVE_TEST_CLIENT_SECRET",
        });

        var token = await StorageToken(provider);
        var again = await StorageToken(provider);

        var request = _double.Requests.Single(r => r.Service == "entra");
        Assert.Multiple(() =>
        {
            Assert.That(token, Does.StartWith(IdentityEndpointsTestDouble.TokenPrefix + "entra"));
            Assert.That(again, Is.EqualTo(token));
            Assert.That(request.PathAndQuery, Does.StartWith("/tenant-1/oauth2/v2.0/token"));
            Assert.That(request.Body, Does.Contain("client_id=app-1").And.Contain("grant_type=client_credentials").And.Contain(Uri.EscapeDataString("https://storage.azure.com/.default")));
            Assert.That(_logs.All, Does.Not.Contain(ClientSecret).And.Not.Contain(token));
        });
    }

    [Test]
    public void Service_principal_with_a_wrong_secret_is_access_denied_without_the_secret_in_log_or_message()
    {
        _double.DenyWith = 401;
        using var provider = Provider("azureblob", AuthMethods.ServicePrincipal, new()
        {
            ["tenant_id"] = "tenant-1",
            ["client_id"] = "app-1",
            ["client_secret_env"] = "WARPDRIVE_TEST_CLIENT_SECRET",
        });

        var e = Assert.ThrowsAsync<CredentialException>(async () => await provider.EnsureCurrentAsync(CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Kind, Is.EqualTo(BackendErrorKind.AccessDenied));
            Assert.That(e.Message, Does.Contain("b").And.Contain("service_principal").And.Contain("401"));
            Assert.That(_logs.Warnings.ToList(), Has.Count.EqualTo(1));
            Assert.That(_logs.All + e.Message, Does.Not.Contain(ClientSecret));
            Assert.That(_double.Count("entra"), Is.EqualTo(1), "401 is not retried");
        });
    }

    [Test]
    public async Task Managed_identity_gets_a_storage_token_from_imds_and_retries_a_500()
    {
        _double.FailNext(500);
        using var provider = Provider("azureblob", AuthMethods.ManagedIdentity, new() { ["client_id"] = "mi-1" });

        var token = await StorageToken(provider);

        var imds = _double.Requests.Where(r => r.Service == "imds").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(token, Does.StartWith(IdentityEndpointsTestDouble.TokenPrefix + "imds"));
            Assert.That(imds.Last().PathAndQuery, Does.Contain("resource=https://storage.azure.com").And.Contain("client_id=mi-1"));
            Assert.That(imds, Has.Count.EqualTo(2), "the 500, then the retry");
            Assert.That(_audit.RefreshTotals()[("managed_identity", "success")], Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Workload_identity_trades_the_federated_token_file_at_entra()
    {
        var file = _dir.File("azure-identity-token", "federated-k8s-token");
        using var provider = Provider("azureblob", AuthMethods.WorkloadIdentity, new()
        {
            ["tenant_id"] = "tenant-2",
            ["client_id"] = "app-2",
            ["token_file"] = file,
        });

        var token = await StorageToken(provider);

        var request = _double.Requests.Single(r => r.Service == "entra");
        Assert.Multiple(() =>
        {
            Assert.That(token, Does.StartWith(IdentityEndpointsTestDouble.TokenPrefix + "entra"));
            Assert.That(request.Body, Does.Contain("client_assertion=federated-k8s-token"));
            Assert.That(_logs.All, Does.Not.Contain("federated-k8s-token"));
        });
    }

    [Test]
    public async Task Gcp_wif_exchanges_the_token_file_at_sts_then_impersonates_the_service_account()
    {
        var file = _dir.File("gcp", "k8s-token-for-gcp");
        using var provider = Provider("gcs", AuthMethods.GcpWif, new()
        {
            ["audience"] = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k8s",
            ["service_account"] = "reader@proj.iam.gserviceaccount.com",
            ["token_file"] = file,
        });

        var token = await provider.Binding.GcsToken!(CancellationToken.None);
        var again = await provider.Binding.GcsToken!(CancellationToken.None);

        var sts = _double.Requests.Single(r => r.Service == "gcp-sts");
        var iam = _double.Requests.Single(r => r.Service == "iam");
        Assert.Multiple(() =>
        {
            Assert.That(token, Does.StartWith(IdentityEndpointsTestDouble.TokenPrefix + "iam"));
            Assert.That(again, Is.EqualTo(token));
            Assert.That(sts.Body, Does.Contain("subject_token=k8s-token-for-gcp"));
            Assert.That(iam.PathAndQuery, Does.Contain("reader%40proj.iam.gserviceaccount.com:generateAccessToken").Or.Contain("reader@proj.iam.gserviceaccount.com:generateAccessToken"));
            Assert.That(iam.Authorization, Does.StartWith("Bearer " + IdentityEndpointsTestDouble.TokenPrefix + "gcp-sts"));
        });
    }

    [Test]
    public async Task Static_keyvault_reads_the_key_pair_with_the_managed_identity()
    {
        _double.VaultSecretValue = """{"access_key_id":"AKIAVAULT","secret_access_key":"vault-secret-never-logged"}""";
        using var provider = Provider("s3", AuthMethods.StaticKeyVault, new()
        {
            ["key_vault_url"] = "https://my-vault.vault.azure.net/",
            ["secret_name"] = "s3-keys",
        });

        var credentials = await provider.Binding.Aws!.GetCredentialsAsync();

        Assert.Multiple(() =>
        {
            Assert.That(credentials.AccessKey, Is.EqualTo("AKIAVAULT"));
            Assert.That(credentials.SecretKey, Is.EqualTo("vault-secret-never-logged"));
            Assert.That(_double.Requests.Last(r => r.Service == "keyvault").Authorization, Does.StartWith("Bearer " + IdentityEndpointsTestDouble.TokenPrefix + "imds"));
            Assert.That(_double.Requests.Single(r => r.Service == "imds").PathAndQuery, Does.Contain("resource=https://vault.azure.net"));
            Assert.That(_logs.All, Does.Not.Contain("vault-secret-never-logged"));
        });
    }

    [Test]
    public void Unknown_method_is_a_config_error_naming_the_key()
    {
        var config = Backends.Config("b", "s3", new Dictionary<string, string> { ["bucket"] = "x" }, "kerberos", new Dictionary<string, string>());

        var e = Assert.Throws<ConfigException>(() => CredentialFederation.CreateBackend(config, 2));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Key, Is.EqualTo("backends[2].auth.method"));
            Assert.That(e.Message, Does.Contain("kerberos").And.Contain("oidc_federation"));
        });
    }

    [Test]
    public void A_method_that_cannot_serve_the_backend_type_is_a_config_error_naming_the_key()
    {
        var config = Backends.Config("b", "s3", new Dictionary<string, string> { ["bucket"] = "x" }, AuthMethods.GcpWif, new Dictionary<string, string> { ["audience"] = "a", ["token_file"] = "/t" });
        var node = new NodeConfig { MountPoint = "/mnt/x", Backends = [Backends.Config("a", "local", new Dictionary<string, string> { ["root"] = "/" }, "none", new Dictionary<string, string>()), config] };

        var e = Assert.Throws<ConfigException>(() => CredentialFederation.CreateBackend(node, config));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Key, Is.EqualTo("backends[1].auth.method"));
            Assert.That(e.Message, Does.Contain("gcp_wif").And.Contain("s3").And.Contain("oidc_federation"));
        });
    }

    [Test]
    public void A_missing_setting_is_a_config_error_naming_the_key()
    {
        var config = Backends.Config("b", "azureblob", new Dictionary<string, string> { ["account"] = "a", ["container"] = "c" }, AuthMethods.ServicePrincipal, new Dictionary<string, string> { ["client_id"] = "x" });

        var e = Assert.Throws<ConfigException>(() => CredentialFederation.CreateBackend(config, 0));

        Assert.That(e!.Key, Is.EqualTo("backends[0].auth.tenant_id"));
    }

    [Test]
    public void The_audit_ring_keeps_the_newest_entries_and_totals_count_all()
    {
        var audit = new AuthAudit(capacity: 3);
        for (var i = 0; i < 5; i++)
        {
            audit.Record(new AuthAuditEntry(DateTimeOffset.UnixEpoch.AddSeconds(i), "b" + i, "static", i % 2 == 0, i % 2 == 0 ? null : "HTTP 500"));
        }

        Assert.Multiple(() =>
        {
            Assert.That(audit.Snapshot().Select(e => e.Backend), Is.EqualTo(new[] { "b2", "b3", "b4" }));
            Assert.That(audit.RefreshTotals()[("static", "success")], Is.EqualTo(3));
            Assert.That(audit.RefreshTotals()[("static", "failure")], Is.EqualTo(2));
        });
    }
}
