using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using WarpDrive.Backends.Resilience;

namespace WarpDrive.Backends.AzureBlob;

/// <summary>A container (or a prefix in it) on Azure Blob Storage, Azurite or a sovereign cloud.</summary>
/// <remarks>
/// Config keys: account; container; endpoint (default https://{account}.blob.core.windows.net); prefix;
/// account_key_env (shared key) or sas_token_env (SAS), both names of environment variables; timeout; page_size;
/// ca_file (PEM CA certificates the endpoint's certificate must chain to, instead of the system roots: private
/// endpoints behind a private CA, or Azurite over HTTPS).
/// An injected <see cref="TokenCredential"/> wins over both (the hook for federated identity). Without any
/// credential requests are anonymous (public containers). Azure.Core's retries are off; see <see cref="BackendResilience"/>.
/// </remarks>
public sealed class AzureBlobBackend : IBackend
{
    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private readonly int _pageSize;
    private readonly BackendResilience _resilience;
    private readonly HttpClientTransport? _privateCaTransport;

    public AzureBlobBackend(string name, IReadOnlyDictionary<string, string> config, TokenCredential? tokenCredential = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        var c = new BackendConfig(Type, config);
        var account = c.Required("account");
        var containerName = c.Required("container");
        _prefix = c.Prefix();
        _pageSize = c.Int("page_size", 5000);
        _resilience = BackendResilience.FromConfig(name, c, Classify);
        var endpoint = new Uri((c.Optional("endpoint") ?? $"https://{account}.blob.core.windows.net").TrimEnd('/') + "/");
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 0;
        options.Retry.NetworkTimeout = _resilience.AttemptTimeout;
        if (c.Optional("ca_file") is { } caFile)
        {
            _privateCaTransport = new HttpClientTransport(PrivateCaHandler(caFile));
            options.Transport = _privateCaTransport;
        }
        var containerUri = new Uri(endpoint, containerName);
        if (tokenCredential is not null)
        {
            _container = new BlobContainerClient(containerUri, tokenCredential, options);
        }
        else if (c.SecretFromEnvironment("account_key_env") is { } key)
        {
            _container = new BlobContainerClient(containerUri, new StorageSharedKeyCredential(account, CheckedAccountKey(c, key)), options);
        }
        else if (c.SecretFromEnvironment("sas_token_env") is { } sas)
        {
            _container = new BlobContainerClient(containerUri, new AzureSasCredential(CheckedSasToken(c, sas)), options);
        }
        else
        {
            _container = new BlobContainerClient(containerUri, options);
        }
    }

    public string Name { get; }

    public string Type => "azureblob";

    public async IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var directory = prefix.Trim('/');
        var blobPrefix = directory.Length == 0 ? _prefix : _prefix + directory + "/";
        string? continuation = null;
        do
        {
            var page = await _resilience.ExecuteAsync("list", directory, (Backend: this, blobPrefix, continuation, recursive), static async (s, ct) =>
            {
                var pages = s.recursive
                    ? s.Backend._container.GetBlobsAsync(BlobTraits.None, BlobStates.None, s.blobPrefix, ct).AsPages(s.continuation, s.Backend._pageSize)
                        .Select(p => (Items: p.Values.Select(b => BlobHierarchyItemFor(b)).ToList(), p.ContinuationToken))
                    : s.Backend._container.GetBlobsByHierarchyAsync(BlobTraits.None, BlobStates.None, "/", s.blobPrefix, ct).AsPages(s.continuation, s.Backend._pageSize)
                        .Select(p => (Items: p.Values.ToList(), p.ContinuationToken));
                await foreach (var first in pages.WithCancellation(ct).ConfigureAwait(false))
                {
                    return first;
                }
                return (Items: new List<BlobHierarchyItem>(), ContinuationToken: (string?)null);
            }, cancellationToken).ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                if (item.IsPrefix)
                {
                    yield return new BackendEntry(ToPath(item.Prefix.TrimEnd('/')), true, 0, DateTimeOffset.UnixEpoch, "");
                }
                else if (!item.Blob.Name.EndsWith('/'))
                {
                    var p = item.Blob.Properties;
                    yield return new BackendEntry(ToPath(item.Blob.Name), false, p.ContentLength ?? 0, p.LastModified ?? DateTimeOffset.UnixEpoch, EntityTags.Normalize(p.ETag?.ToString()));
                }
            }
            continuation = string.IsNullOrEmpty(page.ContinuationToken) ? null : page.ContinuationToken;
        }
        while (continuation is not null);
    }

    public async ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        path = path.Trim('/');
        if (path.Length > 0)
        {
            try
            {
                var properties = await _resilience.ExecuteAsync("stat", path, _container.GetBlobClient(_prefix + path),
                    static async (blob, ct) => (await blob.GetPropertiesAsync(cancellationToken: ct).ConfigureAwait(false)).Value, cancellationToken).ConfigureAwait(false);
                return new BackendEntry(path, false, properties.ContentLength, properties.LastModified, EntityTags.Normalize(properties.ETag.ToString()));
            }
            catch (BackendException e) when (e.Kind == BackendErrorKind.NotFound && e.InnerException is RequestFailedException { ErrorCode: "BlobNotFound" } or RequestFailedException { ErrorCode: null })
            {
                // not a blob; maybe a prefix (a missing container stays an error)
            }
        }
        var hasChildren = await _resilience.ExecuteAsync("stat", path, (_container, Prefix: path.Length == 0 ? _prefix : _prefix + path + "/"), static async (s, ct) =>
        {
            await foreach (var page in s._container.GetBlobsAsync(BlobTraits.None, BlobStates.None, s.Prefix, ct).AsPages(pageSizeHint: 1).WithCancellation(ct).ConfigureAwait(false))
            {
                return page.Values.Count > 0;
            }
            return false;
        }, cancellationToken).ConfigureAwait(false);
        return path.Length == 0 || hasChildren ? new BackendEntry(path, true, 0, DateTimeOffset.UnixEpoch, "") : null;
    }

    public ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        ReadVersionAtAsync(path, "", offset, buffer, cancellationToken);

    /// <summary>A ranged download with If-Match: the service answers 412 instead of bytes of another version.</summary>
    public ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (buffer.IsEmpty)
        {
            return ValueTask.FromResult(0);
        }
        return _resilience.ExecuteAsync("read", path, (Blob: _container.GetBlobClient(_prefix + path), offset, buffer, expectedETag, path, Name), static async (s, ct) =>
        {
            try
            {
                var options = new BlobDownloadOptions { Range = new HttpRange(s.offset, s.buffer.Length) };
                if (s.expectedETag.Length > 0)
                {
                    options.Conditions = new BlobRequestConditions { IfMatch = new Azure.ETag(EntityTags.Quote(s.expectedETag)) };
                }
                using var response = (await s.Blob.DownloadStreamingAsync(options, ct).ConfigureAwait(false)).Value;
                if (s.expectedETag.Length > 0 && EntityTags.Normalize(response.Details.ETag.ToString()) != s.expectedETag)
                {
                    throw new BackendException(BackendErrorKind.Changed, s.Name, $"'{s.path}' changed while it was read");
                }

                return await S3.S3Backend.ReadFully(response.Content, s.buffer, ct).ConfigureAwait(false);
            }
            catch (RequestFailedException e) when (e.Status == 416)
            {
                return 0; // at or past the end
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                throw new BackendException(BackendErrorKind.Changed, s.Name, $"'{s.path}' changed while it was read");
            }
        }, cancellationToken);
    }

    public async ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        var result = await _resilience.ExecuteAsync("open", path, _container.GetBlobClient(_prefix + path),
            static async (blob, ct) => (await blob.DownloadStreamingAsync(cancellationToken: ct).ConfigureAwait(false)).Value, cancellationToken).ConfigureAwait(false);
        return result.Content;
    }

    public async ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var seekable = await Seekable.From(content, cancellationToken).ConfigureAwait(false);
        await using (seekable.ConfigureAwait(false))
        {
            await _resilience.ExecuteAsync("write", path, (Blob: _container.GetBlobClient(_prefix + path), seekable.Stream), static async (s, ct) =>
            {
                s.Stream.Position = 0;
                await s.Blob.UploadAsync(s.Stream, overwrite: true, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DeleteAsync(string path, CancellationToken cancellationToken) =>
        await _resilience.ExecuteAsync("delete", path, _container.GetBlobClient(_prefix + path),
            static async (blob, ct) => (await blob.DeleteIfExistsAsync(cancellationToken: ct).ConfigureAwait(false)).Value, cancellationToken).ConfigureAwait(false);

    public ValueTask DisposeAsync()
    {
        _privateCaTransport?.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// A shared key is base64 (the SDK decodes it and would throw a bare FormatException). Checked here so a
    /// pasted-wrong key is a config error naming the variable at start, not a crash; the value is never shown.
    /// </summary>
    private static string CheckedAccountKey(BackendConfig c, string key)
    {
        var buffer = new byte[key.Length];
        return Convert.TryFromBase64String(key, buffer, out var length) && length > 0
            ? key
            : throw new BackendConfigException("account_key_env", $"the value of {c.Optional("account_key_env")} is not base64 (an account key as the portal shows it)");
    }

    /// <summary>A SAS is a query string carrying a signature (<c>sv=…&amp;sig=…</c>); anything else would only fail later with 403.</summary>
    private static string CheckedSasToken(BackendConfig c, string sas)
    {
        var token = sas.TrimStart('?');
        var hasSignature = token.Split('&').Any(p => p.StartsWith("sig=", StringComparison.Ordinal) && p.Length > 4);
        return hasSignature && !token.Any(char.IsWhiteSpace)
            ? token
            : throw new BackendConfigException("sas_token_env", $"the value of {c.Optional("sas_token_env")} is not a SAS token (a query string with sv=... and sig=...)");
    }

    private static string ReadFailure(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file",
        UnauthorizedAccessException => "permission denied",
        CryptographicException => "not PEM",
        _ => e.Message,
    };

    /// <summary>
    /// TLS that trusts only the CAs in <paramref name="caFile"/> (host names are still checked). Revocation is not
    /// checked, as with the default transport: private CAs often publish no CRL.
    /// </summary>
    private static SocketsHttpHandler PrivateCaHandler(string caFile)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(caFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new BackendConfigException("ca_file", $"cannot read PEM certificates from \"{caFile}\" ({ReadFailure(e)})", e);
        }
        if (authorities.Count == 0)
        {
            throw new BackendConfigException("ca_file", $"\"{caFile}\" holds no PEM certificate");
        }
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(authorities);
        return new SocketsHttpHandler { SslOptions = new SslClientAuthenticationOptions { CertificateChainPolicy = policy } };
    }

    private static BlobHierarchyItem BlobHierarchyItemFor(BlobItem blob) => BlobsModelFactory.BlobHierarchyItem(null, blob);

    private static FailureClass? Classify(Exception e) => e switch
    {
        RequestFailedException { Status: > 0 } r => FailureClass.FromHttpStatus(r.Status, r.ErrorCode),
        _ => FailureClass.FromTransport(e),
    };

    private string ToPath(string blobName) => blobName[_prefix.Length..];
}
