using System.Globalization;
using System.Net;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Grpc.Core;
using NUnit.Framework;
using WarpDrive.Auth;
using WarpDrive.Tests.Shared;

namespace WarpDrive.Csi.Tests.PodIdentity;

/// <summary>
/// <c>auth.source: pod</c> through the real plugin (gRPC, FUSE, bind mounts) against a real s3rver: each pod's token
/// goes to the STS double, the keys it issues reach s3rver through a gateway that plays IAM (role → readable prefixes),
/// and two pods of different service accounts share the node's one block cache without sharing what they may read.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PodIdentityTests
{
    private const string Bucket = "pod-identity";
    private const string ReadsA = "arn:aws:iam::111122223333:role/reads-a";
    private const string ReadsAll = "arn:aws:iam::111122223333:role/reads-all";
    private const string Audience = "sts.amazonaws.com";
    private const string VolumeId = "ml/secure";

    private readonly byte[] _inA = Bytes(3 * 1024 * 1024 + 17, seed: 1);
    private readonly byte[] _inB = Bytes(2 * 1024 * 1024 + 5, seed: 2);
    private readonly byte[] _laterInA = Bytes(512 * 1024, seed: 3);
    private ServerProcess _s3 = null!;
    private IdentityEndpointsTestDouble _sts = null!;
    private S3PolicyGatewayTestDouble _gateway = null!;
    private ServiceAccountsTestDouble _accounts = null!;
    private PluginFixture _plugin = null!;

    [OneTimeSetUp]
    public async Task StartStorage()
    {
        _s3 = await ServerProcess.StartS3rverAsync(Bucket);
        using var s3 = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
        {
            ServiceURL = $"http://127.0.0.1:{_s3.Port}", ForcePathStyle = true, AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED, // s3rver would store aws-chunked framing as data
        });
        foreach (var (key, bytes) in new[] { ("a/x.bin", _inA), ("b/y.bin", _inB), ("a/later/z.bin", _laterInA) })
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(bytes), UseChunkEncoding = false });
        }
    }

    [OneTimeTearDown]
    public void StopStorage() => _s3?.Dispose();

    [SetUp]
    public async Task StartPlugin()
    {
        _sts = new IdentityEndpointsTestDouble();
        _gateway = await S3PolicyGatewayTestDouble.StartAsync(new Uri($"http://127.0.0.1:{_s3.Port}"), _sts);
        _gateway.Allow(ReadsAll, "a/", "b/");
        _gateway.Allow(ReadsA, "a/");
        _accounts = new ServiceAccountsTestDouble();
        _accounts.Put("ml", "all-reader", new() { ["eks.amazonaws.com/role-arn"] = ReadsAll });
        _accounts.Put("ml", "a-reader", new() { ["eks.amazonaws.com/role-arn"] = ReadsA });
        _plugin = await PluginFixture.StartAsync(serviceAccounts: _accounts, backends: $$"""
              - name: secure
                type: s3
                config: { bucket: {{Bucket}}, endpoint: "{{_gateway.Url.ToString().TrimEnd('/')}}", path_style: "true", region: us-east-1, retry_base_delay: 50ms }
                mount_path: /secure
                namespace: ml
                auth: { method: oidc_federation, source: pod, sts_endpoint: "http://127.0.0.1:{{_sts.Port}}", region: us-east-1, retry_base_delay: 50ms }
            """);
    }

    [TearDown]
    public async Task StopPlugin()
    {
        if (_plugin is not null)
        {
            await _plugin.DisposeAsync();
        }

        await _gateway.DisposeAsync();
        _sts.Dispose();
    }

    [Test]
    public async Task A_pod_reads_what_its_role_may_and_gets_EACCES_on_what_another_pod_has_cached()
    {
        var all = await PublishAsync("trainer-all", "uid-all", "all-reader", "jwt-of-all-reader");
        var onlyA = await PublishAsync("trainer-a", "uid-a", "a-reader", "jwt-of-a-reader");

        Assert.That(File.ReadAllBytes(Path.Combine(all, "b/y.bin")), Is.EqualTo(_inB), "the pod whose role reads b/ reads it (and the node caches it)");
        var fetchesOfB = _gateway.Judged.Count(j => j is { Method: "GET", Key: "b/y.bin", Allowed: true });
        Assert.That(File.ReadAllBytes(Path.Combine(onlyA, "a/x.bin")), Is.EqualTo(_inA), "the pod whose role reads a/ reads a/");
        Assert.That(Directory.GetFiles(Path.Combine(onlyA, "b")).Select(Path.GetFileName), Is.EqualTo(new[] { "y.bin" }), "its role may list b/, as the policy says");
        var refused = Assert.Throws<UnauthorizedAccessException>(() => File.ReadAllBytes(Path.Combine(onlyA, "b/y.bin")), "EACCES although the bytes are cached");
        Assert.Throws<UnauthorizedAccessException>(() => File.ReadAllBytes(Path.Combine(onlyA, "b/y.bin")), "and again, from the remembered refusal");

        var refusals = AuthAudit.Shared.Snapshot().Where(e => e.Principal == "pod ml/trainer-a (service account a-reader)").ToList();
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri(_plugin.Host.MetricsAddress!, "/metrics"));
        Assert.Multiple(() =>
        {
            Assert.That(refused, Is.Not.Null);
            Assert.That(_gateway.Judged.Where(j => j.RoleArn == ReadsA && j.Key == "b/y.bin").Select(j => (j.Method, j.Allowed)), Is.EqualTo(new[] { ("HEAD", false) }),
                "the a/ role asked once, with a HEAD, and never fetched a byte of b/");
            Assert.That(_gateway.Judged.Count(j => j is { Method: "GET", Key: "b/y.bin", Allowed: true }), Is.EqualTo(fetchesOfB), "nothing of b/ was fetched again");
            Assert.That(refusals, Has.Count.EqualTo(1), "one audited refusal: the second open was answered from it");
            Assert.That(refusals[0].Backend, Is.EqualTo("secure"));
            Assert.That(refusals[0].Error, Does.Contain("b/y.bin"));
            Assert.That(metrics, Does.Match(@"warpdrive_auth_access_refused_total\{[^}]*backend=""secure""[^}]*\} [1-9]"), "counted in the node's metrics");
            Assert.That(_sts.AssumedRoles.Select(r => (r.RoleArn, r.SessionName, r.WebIdentityToken)), Is.EquivalentTo(new[]
            {
                (ReadsAll, "warpdrive-ml-all-reader", "jwt-of-all-reader"),
                (ReadsA, "warpdrive-ml-a-reader", "jwt-of-a-reader"),
            }), "each pod's own token was traded for the role its service account names");
            Assert.That(_plugin.FuseMountsOf("secure@uid-all") + _plugin.FuseMountsOf("secure@uid-a"), Is.EqualTo(2), "one mount per pod");
        });
        await UnpublishAsync(all);
        await UnpublishAsync(onlyA);
    }

    [Test]
    public async Task A_token_rotated_by_republish_is_used_for_the_next_fetch_and_unpublish_drops_the_credentials()
    {
        var target = await PublishAsync("trainer-a", "uid-a", "a-reader", "first-jwt");
        Assert.That(File.ReadAllBytes(Path.Combine(target, "a/x.bin")), Is.EqualTo(_inA));

        await PublishAsync("trainer-a", "uid-a", "a-reader", "rotated-jwt"); // kubelet's republish (requiresRepublish)
        Assert.That(File.ReadAllBytes(Path.Combine(target, "a/later/z.bin")), Is.EqualTo(_laterInA));

        var tokenFilesWhilePublished = PodTokenFiles();
        await UnpublishAsync(target);

        Assert.Multiple(() =>
        {
            Assert.That(_gateway.Judged.Where(j => j.Key == "a/later/z.bin").Select(j => j.WebIdentityToken).Distinct(), Is.EqualTo(new[] { "rotated-jwt" }),
                "every request for the object read after the republish carried keys traded for the rotated token");
            Assert.That(tokenFilesWhilePublished, Is.EqualTo(2), "the rotated token and the one it replaced (kept for calls in flight), both in memory");
            Assert.That(PodTokenFiles(), Is.Zero, "unpublish dropped the pod's credentials");
            Assert.That(_plugin.FuseMountsOf("secure@uid-a"), Is.Zero, "and its mount, without a grace period");
        });
    }

    [Test]
    public async Task A_publish_without_a_token_for_the_source_audience_fails_naming_the_audience_and_never_the_token()
    {
        var request = Publish("trainer-a", "uid-a", "a-reader", ("some-other-audience", "a-secret-jwt"));
        var e = Assert.ThrowsAsync<RpcException>(async () => await _plugin.Node.NodePublishVolumeAsync(request));

        Assert.Multiple(() =>
        {
            Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(e.Status.Detail, Does.Contain(Audience).And.Contain("tokenRequests").And.Not.Contain("a-secret-jwt"));
            Assert.That(CallLoggingInterceptor.LooksSecret(CsiDriver.ServiceAccountTokensAttribute), "the call log masks kubelet's token map");
            Assert.That(_sts.AssumedRoles, Is.Empty);
        });
    }

    [Test]
    public async Task After_a_crash_a_pods_volume_is_served_again_with_the_token_of_kubelets_next_republish()
    {
        var root = Directory.CreateTempSubdirectory("warpdrive-csi-pod-restart-").FullName;
        try
        {
            var socket = Path.Combine(root, "csi.sock");
            var config = Path.Combine(root, "config.yaml");
            // No Kubernetes API here: the service account has no annotations, so the source's own role_arn applies.
            File.WriteAllText(config, $$"""
                mount_point: /unused
                cache: { path: {{root}}/cache, max_size: 64MiB, block_size: 1MiB }
                metrics: { enabled: false }
                backends:
                  - name: secure
                    type: s3
                    config: { bucket: {{Bucket}}, endpoint: "{{_gateway.Url.ToString().TrimEnd('/')}}", path_style: "true", region: us-east-1 }
                    namespace: ml
                    auth: { method: oidc_federation, source: pod, role_arn: "{{ReadsAll}}", sts_endpoint: "http://127.0.0.1:{{_sts.Port}}", region: us-east-1 }
                """);
            string[] args = ["--config", config, "--state-dir", Path.Combine(root, "state"), "--release-grace", "00:00:00"];
            var target = Path.Combine(root, "pods", "trainer-a", "volumes", "data");
            var request = Publish("trainer-a", "uid-a", "a-reader", (Audience, "before-the-crash"));
            request.TargetPath = target;

            using (var first = await PluginProcess.StartAsync(socket, args))
            {
                await first.Node.NodePublishVolumeAsync(request);
                Assert.That(File.ReadAllBytes(Path.Combine(target, "a/x.bin")), Is.EqualTo(_inA));
                Assert.That(first.Stop(PluginProcess.SIGKILL), Is.True);
            }

            using var second = await PluginProcess.StartAsync(socket, args);
            // The restarted plugin re-mounted the pod's tree from its record, but the token lived in the last run's memory only.
            var reading = Task.Run(() => File.ReadAllBytes(Path.Combine(target, "a/x.bin")));
            await Task.Delay(300);
            var waitedForToken = !reading.IsCompleted;
            request.VolumeContext[CsiDriver.ServiceAccountTokensAttribute] = Publish("trainer-a", "uid-a", "a-reader", (Audience, "after-the-crash"))
                .VolumeContext[CsiDriver.ServiceAccountTokensAttribute];
            await second.Node.NodePublishVolumeAsync(request); // kubelet's republish

            var bytes = await reading.WaitAsync(TimeSpan.FromSeconds(15));
            Assert.Multiple(() =>
            {
                Assert.That(waitedForToken, "the read waited for the pod's token");
                Assert.That(bytes, Is.EqualTo(_inA), "and was served once the republish brought it");
                Assert.That(_sts.AssumedRoles.Select(r => r.WebIdentityToken), Is.EquivalentTo(new[] { "before-the-crash", "after-the-crash" }));
                Assert.That(ProcessTestFiles.MountsBelow(root).Count(m => m.EndsWith("secure@uid-a", StringComparison.Ordinal)), Is.EqualTo(1), "one live tree of the pod");
            });
            await second.Node.NodeUnpublishVolumeAsync(new global::Csi.V1.NodeUnpublishVolumeRequest { VolumeId = VolumeId, TargetPath = target });
            Assert.That(ProcessTestFiles.MountsBelow(root), Is.Empty);
        }
        finally
        {
            ProcessTestFiles.DetachEverythingBelow(root);
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void A_pod_whose_account_names_no_role_where_the_source_has_none_is_refused_naming_the_setting()
    {
        _accounts.Put("ml", "no-role", []);

        var e = Assert.ThrowsAsync<RpcException>(async () => await _plugin.Node.NodePublishVolumeAsync(Publish("trainer-x", "uid-x", "no-role", (Audience, "a-jwt"))));

        Assert.Multiple(() =>
        {
            Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
            Assert.That(e.Status.Detail, Does.StartWith("the pod's identity cannot be used: backends[2].auth.role_arn"));
            Assert.That(_plugin.FuseMountsOf("secure@uid-x"), Is.Zero, "nothing mounted for it");
        });
    }

    private async Task<string> PublishAsync(string pod, string uid, string serviceAccount, string token)
    {
        await _plugin.Node.NodePublishVolumeAsync(Publish(pod, uid, serviceAccount, (Audience, token)));
        return _plugin.Target(pod);
    }

    private async Task UnpublishAsync(string target) =>
        await _plugin.Node.NodeUnpublishVolumeAsync(new global::Csi.V1.NodeUnpublishVolumeRequest { VolumeId = VolumeId, TargetPath = target });

    private global::Csi.V1.NodePublishVolumeRequest Publish(string pod, string uid, string serviceAccount, (string Audience, string Token) token)
    {
        var request = PluginFixture.PublishForPod(VolumeId, _plugin.Target(pod), "secure", "ml", pod, uid, serviceAccount);
        request.VolumeContext[CsiDriver.ServiceAccountTokensAttribute] = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            [token.Audience] = new { token = token.Token, expirationTimestamp = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) },
        });
        return request;
    }

    /// <summary>Memory files holding pod tokens in this process (the plugin's), by their name in /proc/self/fd.</summary>
    private static int PodTokenFiles() => new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos()
        .Count(fd => (fd.LinkTarget ?? "").Contains("warpdrive-pod-token", StringComparison.Ordinal));

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
