using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace WarpDrive.Tests.Shared;

/// <summary>One request an identity endpoint received.</summary>
internal sealed record RecordedRequest(string Service, string Method, string PathAndQuery, string Body, string? Authorization);

/// <summary>One AssumeRoleWithWebIdentity the STS double granted: who asked for which role, and the session it issued.</summary>
internal sealed record AssumedRoleSession(string RoleArn, string SessionName, string WebIdentityToken, string SessionToken);

/// <summary>
/// Test double for the identity endpoints that cannot be reached from here — AWS STS, the Entra token endpoint,
/// Azure IMDS, GCP STS, IAM Credentials and Key Vault — on one loopback HttpListener. It speaks each service's
/// wire format (as the real SDKs parse it), issues tokens that expire after <see cref="ExpiresIn"/>, records every
/// request, and can be told to fail the next requests with given statuses or to answer slowly. One source file, linked
/// into the test projects that federate identities (tests/Shared).
/// </summary>
internal sealed class IdentityEndpointsTestDouble : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<int> _failures = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly ConcurrentDictionary<string, AssumedRoleSession> _sessions = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private int _issued;

    /// <param name="address">Where to listen: loopback by default; the e2e suite uses the node's address so pods reach it.</param>
    public IdentityEndpointsTestDouble(IPAddress? address = null)
    {
        Address = address ?? IPAddress.Loopback;
        Port = FreePort(Address);
        _listener.Prefixes.Add($"http://{Address}:{Port}/");
        _listener.Start();
        _loop = Task.Run(AcceptLoop);
    }

    public IPAddress Address { get; }

    public int Port { get; }

    /// <summary>Lifetime of issued tokens. Just over 5 minutes means "due for refresh a moment after issue".</summary>
    public TimeSpan ExpiresIn { get; set; } = TimeSpan.FromHours(1);

    public TimeSpan ResponseDelay { get; set; } = TimeSpan.Zero;

    /// <summary>The key pair STS issues (s3rver knows S3RVER/S3RVER); the session token is unique per issue.</summary>
    public (string AccessKey, string SecretKey) AwsKeyPair { get; set; } = ("S3RVER", "S3RVER");

    /// <summary>The Key Vault secret's value.</summary>
    public string VaultSecretValue { get; set; } = "";

    /// <summary>Answers with this status (and an error body) when set, for every request: "wrong credentials".</summary>
    public int? DenyWith { get; set; }

    /// <summary>
    /// When set, the Entra endpoint issues JWT-shaped access tokens with this audience (unsigned, as Azurite's
    /// <c>--oauth basic</c> accepts them) instead of opaque ones; see <see cref="AccessTokenJwt"/>.
    /// </summary>
    public string? EntraJwtAudience { get; set; }

    public static string TokenPrefix => "issued-token-";

    public void FailNext(params int[] statuses)
    {
        foreach (var status in statuses)
        {
            _failures.Enqueue(status);
        }
    }

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    public int Count(string service) => Requests.Count(r => r.Service == service);

    /// <summary>Every role session STS issued, in no particular order.</summary>
    public IReadOnlyCollection<AssumedRoleSession> AssumedRoles => [.. _sessions.Values];

    /// <summary>The session STS issued with this session token (what a storage service would look up), or null.</summary>
    public AssumedRoleSession? SessionOf(string sessionToken) => _sessions.GetValueOrDefault(sessionToken);

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // the loop ends with the listener
        }
    }

    private static int FreePort(IPAddress address)
    {
        using var listener = new TcpListener(address, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task AcceptLoop()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => Serve(context));
        }
    }

    private async Task Serve(HttpListenerContext context)
    {
        var request = context.Request;
        string body;
        using (var reader = new StreamReader(request.InputStream, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync().ConfigureAwait(false);
        }
        var path = request.Url!.AbsolutePath;
        var service = path switch
        {
            _ when path.EndsWith("/oauth2/v2.0/token", StringComparison.Ordinal) => "entra",
            "/metadata/identity/oauth2/token" => "imds",
            "/v1/token" => "gcp-sts",
            _ when path.EndsWith(":generateAccessToken", StringComparison.Ordinal) => "iam",
            _ when path.StartsWith("/secrets/", StringComparison.Ordinal) => "keyvault",
            _ when body.Contains("Action=AssumeRoleWithWebIdentity", StringComparison.Ordinal) => "sts",
            _ => "unknown",
        };
        lock (_requests)
        {
            _requests.Add(new RecordedRequest(service, request.HttpMethod, request.Url.PathAndQuery, body, request.Headers["Authorization"]));
        }
        if (ResponseDelay > TimeSpan.Zero)
        {
            await Task.Delay(ResponseDelay).ConfigureAwait(false);
        }
        var response = context.Response;
        try
        {
            if (service == "keyvault" && request.Headers["Authorization"] is null)
            {
                // Key Vault's challenge: the client learns the authority and resource from it, then retries with a token.
                response.AddHeader("WWW-Authenticate", "Bearer authorization=\"https://login.microsoftonline.com/tenant\", resource=\"https://vault.azure.net\"");
                await Write(response, 401, "application/json", """{"error":{"code":"Unauthorized","message":"challenge"}}""").ConfigureAwait(false);
                return;
            }
            if (_failures.TryDequeue(out var status) || DenyWith is { } denied && (status = denied) > 0)
            {
                await WriteError(response, service, status).ConfigureAwait(false);
                return;
            }
            var n = Interlocked.Increment(ref _issued);
            var token = $"{TokenPrefix}{service}-{n}";
            var expiresIn = (long)ExpiresIn.TotalSeconds;
            var expiresAt = DateTimeOffset.UtcNow + ExpiresIn;
            switch (service)
            {
                case "sts":
                    var form = System.Web.HttpUtility.ParseQueryString(body);
                    _sessions[token] = new AssumedRoleSession(form["RoleArn"] ?? "", form["RoleSessionName"] ?? "", form["WebIdentityToken"] ?? "", token);
                    await Write(response, 200, "text/xml", $"""
                        <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
                          <AssumeRoleWithWebIdentityResult>
                            <SubjectFromWebIdentityToken>system:serviceaccount:ml:reader</SubjectFromWebIdentityToken>
                            <Audience>sts.amazonaws.com</Audience>
                            <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/reader/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser>
                            <Credentials>
                              <SessionToken>{token}</SessionToken>
                              <SecretAccessKey>{AwsKeyPair.SecretKey}</SecretAccessKey>
                              <Expiration>{expiresAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}</Expiration>
                              <AccessKeyId>{AwsKeyPair.AccessKey}</AccessKeyId>
                            </Credentials>
                            <Provider>oidc.example</Provider>
                          </AssumeRoleWithWebIdentityResult>
                          <ResponseMetadata><RequestId>r-{n}</RequestId></ResponseMetadata>
                        </AssumeRoleWithWebIdentityResponse>
                        """).ConfigureAwait(false);
                    break;
                case "entra":
                    var accessToken = EntraJwtAudience is { } audience
                        ? AccessTokenJwt.Create(audience, TenantOf(path), token, expiresAt)
                        : token;
                    await WriteJson(response, new { token_type = "Bearer", expires_in = expiresIn, ext_expires_in = expiresIn, access_token = accessToken }).ConfigureAwait(false);
                    break;
                case "imds":
                    await WriteJson(response, new
                    {
                        access_token = token,
                        expires_in = expiresIn.ToString(CultureInfo.InvariantCulture),
                        expires_on = expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                        resource = request.QueryString["resource"] ?? "",
                        token_type = "Bearer",
                    }).ConfigureAwait(false);
                    break;
                case "gcp-sts":
                    await WriteJson(response, new { access_token = token, issued_token_type = "urn:ietf:params:oauth:token-type:access_token", token_type = "Bearer", expires_in = expiresIn }).ConfigureAwait(false);
                    break;
                case "iam":
                    await WriteJson(response, new { accessToken = token, expireTime = expiresAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) }).ConfigureAwait(false);
                    break;
                case "keyvault":
                    var name = path.Split('/', StringSplitOptions.RemoveEmptyEntries)[1];
                    await WriteJson(response, new { value = VaultSecretValue, id = $"https://vault.example/secrets/{name}/v{n}", attributes = new { enabled = true } }).ConfigureAwait(false);
                    break;
                default:
                    await Write(response, 404, "text/plain", "no such endpoint").ConfigureAwait(false);
                    break;
            }
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // the client went away
        }
    }

    /// <summary>The tenant segment of an Entra token path, "/{tenant}/oauth2/v2.0/token".</summary>
    private static string TenantOf(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries)[0];

    private static Task WriteError(HttpListenerResponse response, string service, int status) => service switch
    {
        "sts" => Write(response, status, "text/xml", $"""
            <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>{(status == 403 ? "AccessDenied" : status == 429 ? "Throttling" : "InternalFailure")}</Code><Message>refused</Message></Error><RequestId>e</RequestId></ErrorResponse>
            """),
        "entra" or "gcp-sts" => WriteJson(response, new { error = status == 401 || status == 400 ? "invalid_client" : "temporarily_unavailable", error_description = "refused" }, status),
        _ => WriteJson(response, new { error = new { code = "Refused", message = "refused" } }, status),
    };

    private static Task WriteJson(HttpListenerResponse response, object value, int status = 200) =>
        Write(response, status, "application/json", JsonSerializer.Serialize(value));

    private static async Task Write(HttpListenerResponse response, int status, string contentType, string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes).ConfigureAwait(false);
        response.Close();
    }
}

/// <summary>
/// Sends every identity request to the test double, keeping path and query: the SDKs keep their real host names
/// (they refuse http authorities and bearer tokens over http), and only the connection goes to the loopback port.
/// </summary>
internal sealed class LoopbackRedirectHandler(int port) : DelegatingHandler(new SocketsHttpHandler())
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.RequestUri = new UriBuilder(request.RequestUri!) { Scheme = "http", Host = "127.0.0.1", Port = port }.Uri;
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>
/// An Entra-shaped access token for Azure Storage: a JWT (header.payload.signature, base64url) carrying the claims
/// Azurite's basic OAuth check reads — <c>aud</c>, <c>iss</c> under https://sts.windows.net/, <c>iat</c>,
/// <c>nbf</c>, <c>exp</c>. The signature is filler: neither the SDK nor Azurite in basic mode verifies it.
/// </summary>
internal static class AccessTokenJwt
{
    public static string Create(string audience, string tenant, string tokenId, DateTimeOffset expiresAt)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256", typ = "JWT" });
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["aud"] = audience,
            ["iss"] = $"https://sts.windows.net/{tenant}/",
            ["iat"] = now,
            ["nbf"] = now - 60,
            ["exp"] = expiresAt.ToUnixTimeSeconds(),
            ["tid"] = tenant,
            ["uti"] = tokenId,
        });
        var signature = Encoding.ASCII.GetBytes("not-signed-" + tokenId);
        return $"{Base64Url.EncodeToString(header)}.{Base64Url.EncodeToString(payload)}.{Base64Url.EncodeToString(signature)}";
    }
}
