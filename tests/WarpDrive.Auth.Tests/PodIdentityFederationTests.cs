using WarpDrive.Auth.Pods;
using WarpDrive.Backends;
using WarpDrive.Backends.Tests.Contract;
using WarpDrive.Config;
using BackendConfig = WarpDrive.Config.BackendConfig;

namespace WarpDrive.Auth.Tests;

/// <summary>
/// <c>auth.source: pod</c> for Azure and GCP (S3 runs through the whole plugin in WarpDrive.Csi.Tests): a pod's token and
/// its service account's annotations become the federation each cloud's own Kubernetes integration would do, against
/// the identity endpoint doubles and a real Azurite (OAuth over HTTPS) or the GCS API double.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PodIdentityFederationTests
{
    private static readonly PodIdentity Pod = new("ml", "trainer-0", "uid-0", "reader");
    private IdentityEndpointsTestDouble _identity = null!;
    private CapturingLoggerProvider _logs = null!;
    private AuthAudit _audit = null!;

    [SetUp]
    public void Start()
    {
        _identity = new IdentityEndpointsTestDouble { EntraJwtAudience = "https://storage.azure.com" };
        _logs = new CapturingLoggerProvider();
        _audit = new AuthAudit();
    }

    [TearDown]
    public void Stop()
    {
        _identity.Dispose();
        _logs.Dispose();
    }

    [Test]
    public async Task Azure_workload_identity_trades_the_pods_token_for_its_annotated_client_and_a_rotated_token_at_the_next_exchange()
    {
        using var azurite = await AzuriteOAuthProcess.StartAsync();
        var container = azurite.SharedKeyContainer("pods");
        await container.CreateIfNotExistsAsync();
        await container.GetBlobClient("a/shard.bin").UploadAsync(new BinaryData("shard bytes"u8.ToArray()));
        var source = Backends.Config("datasets", BackendTypes.AzureBlob, new Dictionary<string, string>
        {
            ["account"] = AzuriteOAuthProcess.Account, ["container"] = "pods", ["endpoint"] = azurite.Endpoint, ["ca_file"] = azurite.CertificateFile,
            ["retry_base_delay"] = "50ms",
        }, AuthMethods.WorkloadIdentity, new Dictionary<string, string> { ["tenant_id"] = "node-tenant", ["client_id"] = "node-app", ["retry_base_delay"] = "50ms" });
        await using var backend = Create(source);
        var annotations = new Dictionary<string, string> { ["azure.workload.identity/client-id"] = "pod-app", ["azure.workload.identity/tenant-id"] = "pod-tenant" };

        backend.Grant(new PodCredentialGrant(Pod, "first-pod-jwt", annotations));
        var first = await backend.StatAsync("a/shard.bin", CancellationToken.None);
        var unchanged = backend.Grant(new PodCredentialGrant(Pod, "first-pod-jwt", annotations));
        backend.Grant(new PodCredentialGrant(Pod, "rotated-pod-jwt", annotations));
        var second = await backend.StatAsync("a/shard.bin", CancellationToken.None);

        var exchanges = _identity.Requests.Where(r => r.Service == "entra").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(first?.Size, Is.EqualTo(11));
            Assert.That(second?.Size, Is.EqualTo(11));
            Assert.That(unchanged, Is.False, "a republish with the same token changes nothing");
            Assert.That(exchanges.Select(r => r.PathAndQuery.Split('/')[1]), Is.EqualTo(new[] { "pod-tenant", "pod-tenant" }), "the annotated tenant, not the node's");
            Assert.That(exchanges.All(r => r.Body.Contains("client_id=pod-app", StringComparison.Ordinal)), "the annotated client, not the node's");
            Assert.That(exchanges.Select(r => r.Body.Contains("client_assertion=first-pod-jwt", StringComparison.Ordinal)), Is.EqualTo(new[] { true, false }));
            Assert.That(exchanges[1].Body, Does.Contain("client_assertion=rotated-pod-jwt"), "the rotated token is what the next exchange sends");
            Assert.That(_logs.All, Does.Not.Contain("pod-jwt"));
        });
    }

    [Test]
    public async Task Gcp_wif_trades_the_pods_token_at_google_sts_and_impersonates_the_annotated_service_account()
    {
        using var gcs = new GcsApiTestDouble("bucket", token: null);
        var source = Backends.Config("datasets", BackendTypes.Gcs, new Dictionary<string, string>
        {
            ["bucket"] = "bucket", ["endpoint"] = $"http://127.0.0.1:{gcs.Port}",
        }, AuthMethods.GcpWif, new Dictionary<string, string>
        {
            ["audience"] = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/cluster",
            ["service_account"] = "node-reader@proj.iam.gserviceaccount.com",
            ["retry_base_delay"] = "50ms",
        });
        await using var backend = Create(source);
        backend.Grant(new PodCredentialGrant(Pod, "pod-jwt-for-google", new Dictionary<string, string> { ["iam.gke.io/gcp-service-account"] = "team-reader@proj.iam.gserviceaccount.com" }));

        var missing = await backend.StatAsync("nothing-here.bin", CancellationToken.None);

        var sts = _identity.Requests.Single(r => r.Service == "gcp-sts");
        var iam = _identity.Requests.Single(r => r.Service == "iam");
        Assert.Multiple(() =>
        {
            Assert.That(missing, Is.Null, "the GCS API answered the request made with the pod's credentials");
            Assert.That(sts.Body, Does.Contain("subject_token=pod-jwt-for-google"));
            Assert.That(Uri.UnescapeDataString(sts.Body), Does.Contain("audience=//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/pool/providers/cluster"));
            Assert.That(Uri.UnescapeDataString(iam.PathAndQuery), Does.Contain("team-reader@proj.iam.gserviceaccount.com:generateAccessToken"), "the annotated account, not the node's");
        });
    }

    [Test]
    public async Task Without_a_grant_calls_wait_then_fail_unavailable_and_disposing_closes_the_token_files()
    {
        var source = Backends.Config("datasets", BackendTypes.S3, new Dictionary<string, string> { ["bucket"] = "b", ["endpoint"] = "http://127.0.0.1:9" },
            AuthMethods.OidcFederation, new Dictionary<string, string> { ["role_arn"] = "arn:aws:iam::1:role/r", ["sts_endpoint"] = $"http://127.0.0.1:{_identity.Port}" });
        var backend = new PodIdentityBackend(source, 0, new BackendServices { LoggerFactory = _logs }, new FederationOptions { Audit = _audit },
            tokenWait: TimeSpan.FromMilliseconds(200));
        var e = Assert.ThrowsAsync<BackendException>(async () => await backend.StatAsync("x", CancellationToken.None));

        backend.Grant(new PodCredentialGrant(Pod, "jwt-1", new Dictionary<string, string>()));
        backend.Grant(new PodCredentialGrant(Pod, "jwt-2", new Dictionary<string, string>()));
        var whileGranted = TokenFiles();
        await backend.DisposeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(e!.Kind, Is.EqualTo(BackendErrorKind.Unavailable));
            Assert.That(whileGranted, Is.EqualTo(2), "the current token and the one it replaced, in memory files");
            Assert.That(TokenFiles(), Is.Zero);
        });
    }

    [Test]
    public void Session_names_name_namespace_and_account_within_aws_limit_and_annotations_win_over_settings()
    {
        var source = Backends.Config("datasets", BackendTypes.S3, new Dictionary<string, string>(), AuthMethods.OidcFederation,
            new Dictionary<string, string> { ["role_arn"] = "arn:aws:iam::1:role/node", ["subject_source"] = "azure_managed_identity" });
        var longPod = new PodIdentity(new string('n', 40), "p", "u", new string('s', 40));

        var settings = ServiceAccountConventions.SettingsFor(source, new PodCredentialGrant(Pod, "t", new Dictionary<string, string> { ["eks.amazonaws.com/role-arn"] = "arn:aws:iam::1:role/pod" }), "/proc/self/fd/9");
        var fallback = ServiceAccountConventions.SettingsFor(source, new PodCredentialGrant(Pod, "t", new Dictionary<string, string>()), "/proc/self/fd/9");

        Assert.Multiple(() =>
        {
            Assert.That(settings["role_arn"], Is.EqualTo("arn:aws:iam::1:role/pod"));
            Assert.That(fallback["role_arn"], Is.EqualTo("arn:aws:iam::1:role/node"));
            Assert.That(settings["token_file"], Is.EqualTo("/proc/self/fd/9"));
            Assert.That(settings.ContainsKey("subject_source"), Is.False, "the subject is always the pod's token");
            Assert.That(settings["role_session_name"], Is.EqualTo("warpdrive-ml-reader"));
            Assert.That(ServiceAccountConventions.SessionName(longPod), Has.Length.EqualTo(64));
        });
    }

    private PodIdentityBackend Create(BackendConfig source) =>
        new(source, 0, new BackendServices { LoggerFactory = _logs },
            new FederationOptions { Audit = _audit, IdentityHttpHandler = () => new LoopbackRedirectHandler(_identity.Port) });

    private static int TokenFiles() => new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
        .Count(fd => (fd.LinkTarget ?? "").Contains("warpdrive-pod-token", StringComparison.Ordinal));
}
