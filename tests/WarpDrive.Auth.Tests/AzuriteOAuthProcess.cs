using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace WarpDrive.Auth.Tests;

/// <summary>
/// azurite-blob (installed by hack/deps.sh) over HTTPS with <c>--oauth basic</c>, on a free loopback port, with a
/// fresh self-signed certificate for 127.0.0.1. Bearer tokens are checked for shape, lifetime, issuer and audience
/// (not signature); shared key keeps working. Disposing kills the process it started and deletes its directory.
/// </summary>
internal sealed class AzuriteOAuthProcess : IDisposable
{
    public const string Account = "devstoreaccount1";

    /// <summary>Azurite's documented, public development key for <see cref="Account"/>.</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly TempDirectory _dir = new();
    private readonly Process _process;

    public AzuriteOAuthProcess()
    {
        var tool = System.IO.Path.Combine(Backends.RepoRoot(), ".tools", "node_modules", ".bin", "azurite-blob");
        if (!File.Exists(tool))
        {
            Assert.Fail("azurite-blob is not installed: run `bash hack/deps.sh` in the repository root");
        }
        CertificateFile = WriteSelfSignedCertificate(_dir.Path);
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var data = Directory.CreateDirectory(System.IO.Path.Combine(_dir.Path, "data")).FullName;
        var info = new ProcessStartInfo(tool) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = data };
        foreach (var a in new[]
        {
            "--blobHost", "127.0.0.1", "--blobPort", Port.ToString(CultureInfo.InvariantCulture),
            "--oauth", "basic", "--cert", CertificateFile, "--key", System.IO.Path.Combine(_dir.Path, "key.pem"),
            "--location", data, "--silent", "--skipApiVersionCheck", "--loose",
        })
        {
            info.ArgumentList.Add(a);
        }
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        try
        {
            WaitUntilListening();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public int Port { get; }

    /// <summary>The server certificate (PEM), which is also its own CA: what a client must trust.</summary>
    public string CertificateFile { get; }

    /// <summary>The account endpoint, as <c>config.endpoint</c> of an azureblob backend takes it.</summary>
    public string Endpoint => $"https://127.0.0.1:{Port}/{Account}";

    /// <summary>A shared-key client for seeding, trusting only <see cref="CertificateFile"/>.</summary>
    public Azure.Storage.Blobs.BlobContainerClient SharedKeyContainer(string container)
    {
        var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
        policy.CustomTrustStore.ImportFromPemFile(CertificateFile);
        var handler = new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy } };
        var options = new Azure.Storage.Blobs.BlobClientOptions { Transport = new Azure.Core.Pipeline.HttpClientTransport(handler) };
        return new Azure.Storage.Blobs.BlobContainerClient(new Uri($"{Endpoint}/{container}"), new Azure.Storage.StorageSharedKeyCredential(Account, AccountKey), options);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        finally
        {
            _process.Dispose();
            _dir.Dispose();
        }
    }

    /// <summary>cert.pem and key.pem in <paramref name="directory"/>: a self-signed server certificate for 127.0.0.1 and localhost.</summary>
    private static string WriteSelfSignedCertificate(string directory)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var path = System.IO.Path.Combine(directory, "cert.pem");
        File.WriteAllText(path, certificate.ExportCertificatePem());
        File.WriteAllText(System.IO.Path.Combine(directory, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        return path;
    }

    private void WaitUntilListening()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"azurite-blob exited early with code {_process.ExitCode}");
            }
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
        }
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
