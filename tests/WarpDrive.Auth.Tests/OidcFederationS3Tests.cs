using System.Text;
using WarpDrive.Backends;
using WarpDrive.Config;

namespace WarpDrive.Auth.Tests;

/// <summary>
/// oidc_federation end to end: a projected-token file → the AWS STS test double (AssumeRoleWithWebIdentity over
/// real HTTP, parsed by AWSSDK.SecurityToken) → S3 requests signed with the issued keys against a real s3rver.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class OidcFederationS3Tests
{
    private const string WebIdentityToken = "eyJhbGciOiJSUzI1NiJ9.projected-service-account-token.sig";
    private ServerProcess _s3 = null!;
    private IdentityEndpointsTestDouble _sts = null!;
    private TempDirectory _dir = null!;
    private CapturingLoggerProvider _logs = null!;
    private AuthAudit _audit = null!;

    [OneTimeSetUp]
    public async Task StartS3() => _s3 = await S3rver.StartAsync();

    [OneTimeTearDown]
    public void StopS3() => _s3?.Dispose();

    [SetUp]
    public void Start()
    {
        _sts = new IdentityEndpointsTestDouble();
        _dir = new TempDirectory();
        _logs = new CapturingLoggerProvider();
        _audit = new AuthAudit();
    }

    [TearDown]
    public void Stop()
    {
        _sts.Dispose();
        _dir.Dispose();
        _logs.Dispose();
    }

    private IBackend Create(Dictionary<string, string>? authOverrides = null, int stsPort = 0)
    {
        var auth = new Dictionary<string, string>
        {
            ["role_arn"] = "arn:aws:iam::123456789012:role/reader",
            ["token_file"] = _dir.File("token", WebIdentityToken + "\n"),
            ["sts_endpoint"] = $"http://127.0.0.1:{(stsPort == 0 ? _sts.Port : stsPort)}",
            ["retry_base_delay"] = "50ms",
            ["timeout"] = "5s",
        };
        foreach (var (k, v) in authOverrides ?? [])
        {
            auth[k] = v;
        }
        var config = Backends.Config("datasets", "s3", new Dictionary<string, string>
        {
            ["bucket"] = S3rver.Bucket,
            ["endpoint"] = $"http://127.0.0.1:{_s3.Port}",
            ["path_style"] = "true",
            ["retry_base_delay"] = "50ms",
        }, AuthMethods.OidcFederation, auth);
        return CredentialFederation.CreateBackend(config, 0, new BackendServices { LoggerFactory = _logs }, new FederationOptions { Audit = _audit });
    }

    [Test]
    public async Task S3_requests_are_signed_with_the_keys_sts_issued_for_the_projected_token()
    {
        await using var backend = Create();
        await backend.WriteAsync("a.txt", new MemoryStream("hello"u8.ToArray()), CancellationToken.None);
        var buffer = new byte[5];
        var read = await backend.ReadAtAsync("a.txt", 0, buffer, CancellationToken.None);
        var entry = await backend.StatAsync("a.txt", CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(Encoding.UTF8.GetString(buffer, 0, read), Is.EqualTo("hello"));
            Assert.That(entry?.Size, Is.EqualTo(5));
            Assert.That(_sts.Count("sts"), Is.EqualTo(1), "one token for three operations");
            var call = _sts.Requests.Single(r => r.Service == "sts").Body;
            Assert.That(call, Does.Contain("WebIdentityToken=" + Uri.EscapeDataString(WebIdentityToken)));
            Assert.That(call, Does.Contain("RoleArn=" + Uri.EscapeDataString("arn:aws:iam::123456789012:role/reader")));
            Assert.That(call, Does.Contain("RoleSessionName=warpdrive-datasets"));
            Assert.That(_audit.Snapshot().Single(), Has.Property("Success").True.And.Property("Provider").EqualTo("oidc_federation").And.Property("Backend").EqualTo("datasets"));
        });
    }

    [Test]
    public async Task Keys_sts_issues_that_the_store_rejects_give_access_denied_and_one_log_line()
    {
        _sts.AwsKeyPair = ("NOT-A-KNOWN-KEY", "not-the-secret");
        await using var backend = Create();

        var e = Assert.ThrowsAsync<BackendException>(async () => await backend.StatAsync("a.txt", CancellationToken.None));
        Assert.ThrowsAsync<BackendException>(async () => await backend.StatAsync("b.txt", CancellationToken.None));

        var warnings = _logs.Warnings.ToList();
        Assert.Multiple(() =>
        {
            Assert.That(e!.Kind, Is.EqualTo(BackendErrorKind.AccessDenied));
            Assert.That(warnings, Has.Count.EqualTo(1));
            Assert.That(warnings[0], Does.Contain("datasets").And.Contain("oidc_federation"));
            Assert.That(_logs.All + e.Message, Does.Not.Contain("not-the-secret").And.Not.Contain(IdentityEndpointsTestDouble.TokenPrefix).And.Not.Contain("projected-service-account-token"));
        });
    }

    [Test]
    public async Task Sts_refusing_the_web_identity_gives_access_denied_one_log_line_and_an_audited_failure()
    {
        _sts.DenyWith = 403;
        await using var backend = Create();

        var first = Assert.ThrowsAsync<BackendException>(async () => await backend.StatAsync("a.txt", CancellationToken.None));
        var second = Assert.ThrowsAsync<BackendException>(async () => await backend.StatAsync("a.txt", CancellationToken.None));

        var warnings = _logs.Warnings.ToList();
        Assert.Multiple(() =>
        {
            Assert.That(first!.Kind, Is.EqualTo(BackendErrorKind.AccessDenied));
            Assert.That(first.Message, Does.Contain("datasets").And.Contain("oidc_federation").And.Contain("403"));
            Assert.That(second!.Kind, Is.EqualTo(BackendErrorKind.AccessDenied));
            Assert.That(_sts.Count("sts"), Is.EqualTo(1), "a 403 is not retried, and the failure is held briefly instead of re-asked");
            Assert.That(warnings, Has.Count.EqualTo(1));
            Assert.That(warnings[0], Does.Contain("datasets").And.Contain("oidc_federation"));
            Assert.That(_logs.All + first.Message, Does.Not.Contain("projected-service-account-token"));
            Assert.That(_audit.RefreshTotals()[("oidc_federation", "failure")], Is.EqualTo(1));
            Assert.That(_audit.Snapshot().Single().Error, Does.Contain("403"));
        });
    }

    [Test]
    public async Task Transient_sts_failures_are_retried_with_backoff_then_succeed()
    {
        _sts.FailNext(500, 429);
        await using var backend = Create();

        var entry = await backend.StatAsync("", CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(entry?.IsDirectory, Is.True);
            Assert.That(_sts.Count("sts"), Is.EqualTo(3));
            Assert.That(_audit.RefreshTotals()[("oidc_federation", "success")], Is.EqualTo(1));
            Assert.That(_audit.RefreshTotals().ContainsKey(("oidc_federation", "failure")), Is.False);
        });
    }

    [Test]
    public async Task Concurrent_callers_share_one_sts_request()
    {
        _sts.ResponseDelay = TimeSpan.FromMilliseconds(500);
        await using var backend = Create();

        var calls = Enumerable.Range(0, 16).Select(i => backend.StatAsync($"missing-{i}", CancellationToken.None).AsTask());
        var results = await Task.WhenAll(calls);

        Assert.Multiple(() =>
        {
            Assert.That(results, Is.All.Null);
            Assert.That(_sts.Count("sts"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Credentials_are_renewed_five_minutes_before_they_expire()
    {
        // Issued for 5 min + 2 s: fresh for about two seconds, then due for renewal (and still valid).
        _sts.ExpiresIn = TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(2);
        await using var backend = Create();

        await backend.StatAsync("", CancellationToken.None);
        await backend.StatAsync("", CancellationToken.None);
        var beforeDue = _sts.Count("sts");
        await Task.Delay(TimeSpan.FromSeconds(3));
        await backend.StatAsync("", CancellationToken.None);
        await backend.StatAsync("", CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(beforeDue, Is.EqualTo(1));
            Assert.That(_sts.Count("sts"), Is.EqualTo(2));
            Assert.That(_audit.Snapshot(), Has.Count.EqualTo(2).And.All.Property("Success").True);
        });
    }

    [Test]
    public async Task An_unreachable_sts_gives_unavailable()
    {
        int closedPort;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        await using var backend = Create(new Dictionary<string, string> { ["timeout"] = "2s" }, closedPort);

        var e = Assert.ThrowsAsync<BackendException>(async () => await backend.StatAsync("a", CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Kind, Is.EqualTo(BackendErrorKind.Unavailable));
            Assert.That(e.Message, Does.Contain("network error"));
            Assert.That(_audit.RefreshTotals()[("oidc_federation", "failure")], Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Eks_irsa_variables_supply_role_and_token_file()
    {
        var tokenFile = _dir.File("irsa", WebIdentityToken);
        Environment.SetEnvironmentVariable("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa");
        Environment.SetEnvironmentVariable("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile);
        try
        {
            var config = Backends.Config("irsa", "s3", new Dictionary<string, string>
            {
                ["bucket"] = S3rver.Bucket,
                ["endpoint"] = $"http://127.0.0.1:{_s3.Port}",
                ["path_style"] = "true",
            }, AuthMethods.OidcFederation, new Dictionary<string, string> { ["sts_endpoint"] = $"http://127.0.0.1:{_sts.Port}" });
            await using var backend = CredentialFederation.CreateBackend(config, 0, new BackendServices { LoggerFactory = _logs }, new FederationOptions { Audit = _audit });

            await backend.StatAsync("", CancellationToken.None);

            Assert.That(_sts.Requests.Single().Body, Does.Contain("RoleArn=" + Uri.EscapeDataString("arn:aws:iam::123456789012:role/irsa")));
        }
        finally
        {
            Environment.SetEnvironmentVariable("AWS_ROLE_ARN", null);
            Environment.SetEnvironmentVariable("AWS_WEB_IDENTITY_TOKEN_FILE", null);
        }
    }
}
