using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using k8s;
using k8s.Autorest;
using k8s.Models;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;
using WarpDrive.Tests.Shared;

namespace WarpDrive.E2E.Tests;

/// <summary>
/// Pod identity (<c>spec.auth.source: pod</c>) on the installed product: the chart's CSIDriver asks the kubelet for
/// the pod's service-account token, the kubelet passes it to our NodePublishVolume, and the agent federates it at
/// STS for the role its ServiceAccount's <c>eks.amazonaws.com/role-arn</c> annotation names, then reads s3rver with the
/// credentials STS issued. STS is <see cref="IdentityEndpointsTestDouble"/> on the node's address (the real one cannot
/// be reached from here); it records the web identity token it was given, which the test checks is a token the
/// cluster signed for exactly that pod, service account and audience: the proof the kubelet handed it over.
/// </summary>
[Category("Installed"), NonParallelizable]
public sealed class PodIdentityTests
{
    private const string Bucket = "e2e-pod-identity";
    private const string ObjectKey = "a/sample.bin";
    private const string ServiceAccount = "reader";
    private const string RoleArn = "arn:aws:iam::111122223333:role/e2e-reader";
    private const string OtherServiceAccount = "auditor";
    private const string OtherRoleArn = "arn:aws:iam::111122223333:role/e2e-auditor";
    private const string UnrequestedAudience = "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/e2e/providers/not-requested";
    private const string SourceName = "shared";
    private const string ReaderPod = "train";
    private const string GcsSourceName = "gcs-unrequested";
    private readonly string run = Guid.NewGuid().ToString("N")[..6];
    private readonly byte[] content = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 11);
    private Kube kube = null!;
    private string ns = "";
    private string node = "";
    private ServerProcess? s3rver;
    private IdentityEndpointsTestDouble? sts;

    [OneTimeSetUp]
    public async Task SetUpAsync()
    {
        InstalledProduct.RequireInstalled();
        kube = new Kube(Cluster.Client);
        node = await InstalledProduct.NodeNameAsync(kube.Client);
        ns = $"wd-e2e-pid-{run}";
        await kube.CreateNamespaceAsync(ns);

        var nodeAddress = IPAddress.Parse(InstalledProduct.NodeAddress);
        // The STS double hands out s3rver's key pair (its default), as real STS hands out the role's session keys.
        sts = new IdentityEndpointsTestDouble(nodeAddress);
        s3rver = await ServerProcess.StartS3rverAsync(Bucket, nodeAddress);
        using var s3 = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"),
            new AmazonS3Config
            {
                ServiceURL = S3Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1",
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            });
        await s3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = ObjectKey, InputStream = new MemoryStream(content), UseChunkEncoding = false });

        // The user's existing IRSA setup: the role is on the ServiceAccount, not in the source.
        foreach (var (account, role) in new[] { (ServiceAccount, RoleArn), (OtherServiceAccount, OtherRoleArn) })
        {
            await kube.Client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount
            {
                Metadata = new V1ObjectMeta
                {
                    Name = account,
                    NamespaceProperty = ns,
                    Annotations = new Dictionary<string, string> { ["eks.amazonaws.com/role-arn"] = role },
                },
            }, ns);
        }
    }

    private string S3Endpoint => $"http://{s3rver!.Address}:{s3rver.Port}";

    private string StsEndpoint => $"http://{sts!.Address}:{sts.Port}";

    [OneTimeTearDown]
    public async Task TearDownAsync()
    {
        try
        {
            if (kube is not null && ns.Length > 0)
            {
                // The pods first: while one uses a claim, its source's finalizer waits. Then the sources (their
                // finalizer needs the operator), then the namespace with the claims and the accounts.
                foreach (var pod in (await kube.Client.CoreV1.ListNamespacedPodAsync(ns)).Items)
                {
                    await kube.DeletePodAndWaitAsync(ns, pod.Metadata.Name);
                }

                foreach (var source in new[] { SourceName, GcsSourceName })
                {
                    await Kube.IgnoreNotFound(() => kube.Client.CustomObjects.DeleteNamespacedCustomObjectAsync(
                        WarpDriveApi.Group, WarpDriveApi.Version, ns, "warpdatasources", source));
                    await Kube.EventuallyAsync($"source {ns}/{source} gone", async () => await kube.ReadSourceAsync(ns, source) is null);
                }

                await kube.DeleteNamespaceAsync(ns);
            }
        }
        finally
        {
            s3rver?.Dispose();
            sts?.Dispose();
        }
    }

    [Test, Order(1)]
    public async Task The_installed_csi_driver_asks_the_kubelet_for_sts_and_entra_tokens_and_republishes()
    {
        var driver = await kube.Client.StorageV1.ReadCSIDriverAsync(WarpDriveApi.CsiDriverName);

        Assert.Multiple(() =>
        {
            Assert.That(driver.Spec.RequiresRepublish, Is.True, "tokens expire: the kubelet must call NodePublishVolume again with fresh ones");
            Assert.That(driver.Spec.TokenRequests?.Select(t => t.Audience), Is.SupersetOf(new[] { "sts.amazonaws.com", "api://AzureADTokenExchange" }));
            Assert.That(driver.Spec.TokenRequests?.Select(t => t.ExpirationSeconds), Is.All.GreaterThanOrEqualTo(600));
        });
    }

    [Test, Order(2)]
    public void Pod_identity_sources_the_agent_could_not_serve_are_refused_naming_the_field()
    {
        var withStaticKeys = PodIdentitySource("bad-method");
        withStaticKeys.Spec.Auth!.Method = AuthMethods.Static;
        withStaticKeys.Spec.Auth.SecretRef = new SecretReference { Name = "keys" };
        var withAccount = PodIdentitySource("bad-account");
        withAccount.Spec.Auth!.ServiceAccountName = ServiceAccount;

        var refusedMethod = Assert.ThrowsAsync<HttpOperationException>(() => kube.CreateSourceAsync(withStaticKeys));
        var refusedAccount = Assert.ThrowsAsync<HttpOperationException>(() => kube.CreateSourceAsync(withAccount));

        Assert.Multiple(() =>
        {
            Assert.That(refusedMethod!.Response.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
            Assert.That(refusedMethod.Response.Content, Does.Contain("spec.auth.source pod needs spec.auth.method"));
            Assert.That(refusedAccount!.Response.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));
            Assert.That(refusedAccount.Response.Content, Does.Contain("spec.auth.serviceAccountName must not be set when spec.auth.source is pod"));
        });
    }

    [Test, Order(3)]
    public async Task A_pod_reads_with_its_own_service_accounts_role_from_a_token_the_kubelet_passed_to_the_agent()
    {
        var started = DateTime.UtcNow;
        await kube.CreateSourceAsync(PodIdentitySource(SourceName));
        await Kube.EventuallyAsync("the pod identity backend in the node's ConfigMap", async () =>
            (await NodeConfigYamlAsync()).Contains($"{ns}-{SourceName}", StringComparison.Ordinal));
        var stored = await kube.ReadSourceAsync(ns, SourceName);
        Assert.That(stored?.Spec.Auth?.Source, Is.EqualTo("pod"));
        await Kube.EventuallyAsync($"PVC {SourceName} bound", async () =>
            (await kube.Client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(SourceName, ns)).Status?.Phase == "Bound");

        var pod = ReaderOf(ReaderPod, ServiceAccount);
        var created = await kube.CreatePodAsync(pod);

        var log = await kube.WaitForChecksumsAsync(ns, pod.Metadata.Name);
        var mounted = DateTime.UtcNow;
        TestContext.Progress.WriteLine($"e2e: pod identity pod read its object {(mounted - started).TotalSeconds:F1} s after the source was created");

        Assert.That(log.Split("  ")[0].Trim(), Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(content))), "the pod read the object's bytes");
        var sessions = sts!.AssumedRoles;
        Assert.That(sessions, Is.Not.Empty, "the agent federated at STS");
        var expectedSession = $"warpdrive-{ns}-{ServiceAccount}";
        Assert.Multiple(() =>
        {
            Assert.That(sessions.Select(s => s.RoleArn).Distinct(), Is.EqualTo(new[] { RoleArn }), "the role of the pod's ServiceAccount annotation");
            Assert.That(sessions.Select(s => s.SessionName).Distinct(), Is.EqualTo(new[] { expectedSession[..Math.Min(64, expectedSession.Length)] }));
        });

        // Every token STS was given (a republish may have brought a newer one) is one the kubelet requested for this pod.
        var tokens = sessions.Select(s => s.WebIdentityToken).Distinct(StringComparer.Ordinal).ToList();
        foreach (var token in tokens)
        {
            var claims = await VerifiedClaimsAsync(token, created);
            Assert.Multiple(() =>
            {
                Assert.That(Audiences(claims), Does.Contain("sts.amazonaws.com"));
                Assert.That(claims.GetProperty("sub").GetString(), Is.EqualTo($"system:serviceaccount:{ns}:{ServiceAccount}"));
                // A bound token: the kubelet requested it for this very pod.
                var bound = claims.GetProperty("kubernetes.io");
                Assert.That(bound.GetProperty("pod").GetProperty("name").GetString(), Is.EqualTo(pod.Metadata.Name));
                Assert.That(bound.GetProperty("pod").GetProperty("uid").GetString(), Is.EqualTo(created.Metadata.Uid));
            });
        }

        // The node has no identity of its own for this source, so its probe proves nothing: the source is Ready once
        // served, and says why reachability is left to the pods.
        await Kube.EventuallyAsync($"{SourceName} Ready with BackendReachable reason PodIdentity", async () =>
        {
            var conditions = (await kube.ReadSourceAsync(ns, SourceName))?.Status?.Conditions;
            return WarpDrive.Operator.Controller.Conditions.Find(conditions, SourceConditions.Ready)?.Status == "True"
                && WarpDrive.Operator.Controller.Conditions.Find(conditions, SourceConditions.BackendReachable)?.Reason == "PodIdentity";
        }, TimeSpan.FromSeconds(60));

        var agent = await InstalledProduct.AgentPodAsync(kube.Client, node);
        var agentLog = await ContainerLogsAsync(agent);
        Assert.That(agentLog, Does.Contain($"with the identity of pod {ns}/{pod.Metadata.Name} (service account {ServiceAccount})"),
            "the agent says whose identity the volume reads with");
        await AssertNowhereAsync(tokens, sessions.Select(s => s.SessionToken));

        var podDir = $"/var/lib/kubelet/pods/{created.Metadata.Uid}/";
        Assert.That(Kube.HostMountsBelow(podDir), Is.Not.Empty, "the volume was mounted while the pod existed");
        await kube.DeletePodAndWaitAsync(ns, pod.Metadata.Name);
        await Kube.EventuallyAsync("the pod's volume unmounted on the node", () => Task.FromResult(Kube.HostMountsBelow(podDir).Count == 0),
            TimeSpan.FromSeconds(60));
    }

    [Test, Order(4)]
    public async Task A_second_pod_with_another_service_account_reads_the_same_source_with_its_own_role()
    {
        var before = sts!.AssumedRoles.Count;
        var pod = ReaderOf("eval", OtherServiceAccount);
        var created = await kube.CreatePodAsync(pod);

        var log = await kube.WaitForChecksumsAsync(ns, pod.Metadata.Name);

        Assert.That(log.Split("  ")[0].Trim(), Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(content))));
        // Each pod federates on its own: the sessions made with this pod's token carry its account's role and name.
        var mine = new List<AssumedRoleSession>();
        foreach (var session in sts.AssumedRoles)
        {
            var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(session.WebIdentityToken.Split('.')[1])).RootElement;
            if (claims.GetProperty("kubernetes.io").GetProperty("pod").GetProperty("uid").GetString() == created.Metadata.Uid)
            {
                mine.Add(session);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(sts.AssumedRoles, Has.Count.GreaterThan(before), "the second pod's publish federated again: no credentials are shared between pods");
            Assert.That(mine, Is.Not.Empty, "a session was made with the second pod's own token");
            Assert.That(mine.Select(s => s.RoleArn).Distinct(), Is.EqualTo(new[] { OtherRoleArn }));
            Assert.That(mine.Select(s => s.SessionName).Distinct(), Is.EqualTo(new[] { $"warpdrive-{ns}-{OtherServiceAccount}" }));
        });
        await kube.DeletePodAndWaitAsync(ns, pod.Metadata.Name);
    }

    [Test, Order(5)]
    public async Task A_source_whose_audience_the_csi_driver_does_not_request_fails_the_mount_naming_the_audience()
    {
        var source = new WarpDataSource
        {
            Metadata = new V1ObjectMeta { Name = GcsSourceName, NamespaceProperty = ns },
            Spec = new WarpDataSourceSpec
            {
                Backend = new BackendSpec { Type = BackendTypes.Gcs, Config = new Dictionary<string, string> { ["bucket"] = Bucket, ["endpoint"] = S3Endpoint } },
                Auth = new AuthSpec
                {
                    Method = AuthMethods.GcpWif, Source = "pod",
                    Settings = new Dictionary<string, string> { ["audience"] = UnrequestedAudience, ["sts_endpoint"] = StsEndpoint },
                },
            },
        };
        await kube.CreateSourceAsync(source);
        await Kube.EventuallyAsync("the gcs backend in the node's ConfigMap", async () =>
            (await NodeConfigYamlAsync()).Contains($"{ns}-{GcsSourceName}", StringComparison.Ordinal));
        var pod = Kube.ReaderPod(ns, "unrequested", node,
            new V1Volume { Name = "data", Csi = new V1CSIVolumeSource { Driver = WarpDriveApi.CsiDriverName, ReadOnlyProperty = true, VolumeAttributes = new Dictionary<string, string> { ["source"] = GcsSourceName } } },
            "ls /data && echo " + Kube.EndMarker + " && exec sleep 3600");
        pod.Spec.ServiceAccountName = ServiceAccount;
        await kube.CreatePodAsync(pod);

        var events = "";
        await Kube.EventuallyAsync("a FailedMount event", async () =>
        {
            events = await kube.EventsAsync(ns, pod.Metadata.Name);
            return events.Contains("FailedMount", StringComparison.Ordinal);
        });

        Assert.Multiple(() =>
        {
            Assert.That(events, Does.Contain("FailedPrecondition").Or.Contain("FAILED_PRECONDITION"));
            Assert.That(events, Does.Contain(UnrequestedAudience).And.Contain("tokenRequests"), "the event says which audience to add where");
        });
        await kube.DeletePodAndWaitAsync(ns, pod.Metadata.Name);
    }

    /// <summary>A pod of <paramref name="account"/> that prints the SHA-256 of the object through the source's claim.</summary>
    private V1Pod ReaderOf(string name, string account)
    {
        var pod = Kube.ReaderPod(ns, name, node,
            new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = SourceName, ReadOnlyProperty = true } },
            $"sha256sum /data/{ObjectKey} && echo {Kube.EndMarker} && exec sleep 3600");
        pod.Spec.ServiceAccountName = account;
        // The pod itself holds no token: the only token of this account on the node is the one the kubelet requested
        // for the CSI driver.
        pod.Spec.AutomountServiceAccountToken = false;
        return pod;
    }

    /// <summary>No log of the agent's or operator's containers, no event and no source status holds a token or session key.</summary>
    private async Task AssertNowhereAsync(IEnumerable<string> webIdentityTokens, IEnumerable<string> sessionTokens)
    {
        var secrets = new List<(string What, string Value)>();
        foreach (var token in webIdentityTokens)
        {
            secrets.Add(("the pod's web identity token", token));
            // A log that printed part of the token (say, its signature) is a leak too.
            secrets.Add(("the pod's web identity token's signature", token.Split('.')[2]));
        }

        secrets.AddRange(sessionTokens.Select(t => ("an STS session token", t)));

        var places = new Dictionary<string, string>(StringComparer.Ordinal);
        var release = InstalledProduct.ReleaseNamespace!;
        foreach (var pod in (await kube.Client.CoreV1.ListNamespacedPodAsync(release)).Items)
        {
            places[$"logs of {release}/{pod.Metadata.Name}"] = await ContainerLogsAsync(pod);
        }

        foreach (var events in new[] { ns, release })
        {
            var list = await kube.Client.CoreV1.ListNamespacedEventAsync(events);
            places[$"events of {events}"] = string.Join("\n", list.Items.Select(e => $"{e.Reason} {e.Message}"));
        }

        places["the source's status"] = KubernetesJson.Serialize((await kube.ReadSourceAsync(ns, SourceName))?.Status);
        places["the node's ConfigMap"] = await NodeConfigYamlAsync();

        Assert.Multiple(() =>
        {
            foreach (var (place, text) in places)
            {
                foreach (var (what, value) in secrets)
                {
                    Assert.That(text.Contains(value, StringComparison.Ordinal), Is.False, $"{what} appears in {place}");
                }
            }
        });
    }

    /// <summary>Every container's log of a pod (current instance), one after the other.</summary>
    private async Task<string> ContainerLogsAsync(V1Pod pod)
    {
        var all = new StringBuilder();
        foreach (var container in pod.Spec.Containers.Select(c => c.Name))
        {
            await using var stream = await kube.Client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, pod.Metadata.NamespaceProperty, container: container);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            all.Append(await reader.ReadToEndAsync()).Append('\n');
        }

        return all.ToString();
    }

    /// <summary>
    /// The claims of a JWT after the cluster itself confirmed it issued the token: a TokenReview (the API server checks
    /// the signature with its service-account key, the issuer, the expiry, the audience and that the pod it is bound to
    /// still exists) must authenticate it as the pod's service account, bound to that pod.
    /// </summary>
    private async Task<JsonElement> VerifiedClaimsAsync(string jwt, V1Pod pod)
    {
        var parts = jwt.Split('.');
        Assert.That(parts, Has.Length.EqualTo(3), "a JWT (header.payload.signature)");
        var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1])).RootElement.Clone();

        var review = await kube.Client.AuthenticationV1.CreateTokenReviewAsync(new V1TokenReview
        {
            Spec = new V1TokenReviewSpec { Token = jwt, Audiences = ["sts.amazonaws.com"] },
        });
        Assert.Multiple(() =>
        {
            Assert.That(review.Status.Authenticated, Is.True, $"the API server authenticates the token: {review.Status.Error}");
            Assert.That(review.Status.Audiences, Does.Contain("sts.amazonaws.com"));
            Assert.That(review.Status.User?.Username, Is.EqualTo($"system:serviceaccount:{ns}:{ServiceAccount}"));
            Assert.That(review.Status.User?.Extra?["authentication.kubernetes.io/pod-uid"], Is.EqualTo(new[] { pod.Metadata.Uid }));
        });
        return claims;
    }

    /// <summary><c>aud</c> is a string or a list of strings (RFC 7519 §4.1.3).</summary>
    private static List<string?> Audiences(JsonElement claims)
    {
        var aud = claims.GetProperty("aud");
        return aud.ValueKind == JsonValueKind.Array ? aud.EnumerateArray().Select(a => a.GetString()).ToList() : [aud.GetString()];
    }

    private WarpDataSource PodIdentitySource(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Spec = new WarpDataSourceSpec
        {
            Backend = new BackendSpec
            {
                Type = BackendTypes.S3,
                Config = new Dictionary<string, string>
                {
                    ["bucket"] = Bucket, ["endpoint"] = S3Endpoint, ["path_style"] = "true", ["region"] = "us-east-1",
                },
            },
            // No role here: it comes from the pod's ServiceAccount annotation.
            Auth = new AuthSpec
            {
                Method = AuthMethods.OidcFederation,
                Source = "pod",
                Settings = new Dictionary<string, string> { ["sts_endpoint"] = StsEndpoint, ["region"] = "us-east-1" },
            },
        },
    };

    private async Task<string> NodeConfigYamlAsync()
    {
        try
        {
            var map = await kube.Client.CoreV1.ReadNamespacedConfigMapAsync(NodeConfigMaps.Name(node), InstalledProduct.ReleaseNamespace);
            return map.Data is { } data && data.TryGetValue(NodeConfigMaps.ConfigKey, out var yaml) ? yaml : "";
        }
        catch (HttpOperationException error) when (error.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return "";
        }
    }
}
