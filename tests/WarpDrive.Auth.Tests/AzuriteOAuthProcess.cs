using System.Buffers.Text;
using System.Globalization;
using System.Net;
using System.Net.Security;
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

    private readonly TempDirectory _dir;
    private readonly ServerProcess _server;

    private AzuriteOAuthProcess(TempDirectory dir, ServerProcess server, string certificateFile)
    {
        _dir = dir;
        _server = server;
        CertificateFile = certificateFile;
    }

    public static async Task<AzuriteOAuthProcess> StartAsync()
    {
        var dir = new TempDirectory();
        try
        {
            var certificate = WriteSelfSignedCertificate(dir.Path);
            var data = Directory.CreateDirectory(System.IO.Path.Combine(dir.Path, "data")).FullName;
            var server = await ServerProcess.StartAsync(ServerProcess.NpmTool("azurite-blob"), data, port =>
            [
                "--blobHost", "127.0.0.1", "--blobPort", port.ToString(CultureInfo.InvariantCulture),
                "--oauth", "basic", "--cert", certificate, "--key", System.IO.Path.Combine(dir.Path, "key.pem"),
                "--location", data, "--silent", "--skipApiVersionCheck", "--loose",
            ]);
            return new AzuriteOAuthProcess(dir, server, certificate);
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    public int Port => _server.Port;

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
            _server.Dispose();
        }
        finally
        {
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
}
