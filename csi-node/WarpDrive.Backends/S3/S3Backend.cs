using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using WarpDrive.Backends.Resilience;

namespace WarpDrive.Backends.S3;

/// <summary>
/// A bucket (or a key prefix in it) on AWS S3 or an S3-compatible store (MinIO, Ceph, VAST, s3rver).
/// </summary>
/// <remarks>
/// Config keys: bucket; region (default us-east-1); endpoint and path_style for non-AWS stores; prefix (the key
/// prefix that becomes this backend's root); access_key_env/secret_key_env (names of environment variables);
/// timeout; page_size. Without keys and without injected <see cref="AWSCredentials"/> requests are anonymous.
/// The SDK's own retries are off: <see cref="BackendResilience"/> is the only retry loop.
/// "Directories" are key prefixes: a path is a directory when some key starts with "path/".
/// </remarks>
public sealed class S3Backend : IBackend
{
    private readonly AmazonS3Client _client;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly int _pageSize;
    private readonly BackendResilience _resilience;

    /// <param name="credentials">Overrides the config's credentials (the hook for federated identity).</param>
    public S3Backend(string name, IReadOnlyDictionary<string, string> config, AWSCredentials? credentials = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        var c = new BackendConfig(Type, config);
        _bucket = c.Required("bucket");
        _prefix = c.Prefix();
        _pageSize = c.Int("page_size", 1000);
        _resilience = BackendResilience.FromConfig(name, c, Classify);
        var region = c.Optional("region") ?? "us-east-1";
        var s3Config = new AmazonS3Config
        {
            ForcePathStyle = c.Bool("path_style", false),
            MaxErrorRetry = 0,
            Timeout = _resilience.AttemptTimeout,
            // Flexible checksums (CRC trailers) are not understood by every S3-compatible store.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (c.Optional("endpoint") is { } endpoint)
        {
            s3Config.ServiceURL = endpoint;
            s3Config.AuthenticationRegion = region;
        }
        else
        {
            s3Config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        }
        credentials ??= CredentialsFromConfig(c);
        _client = new AmazonS3Client(credentials, s3Config);
    }

    public string Name { get; }

    public string Type => "s3";

    public async IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var directory = prefix.Trim('/');
        var keyPrefix = directory.Length == 0 ? _prefix : _prefix + directory + "/";
        string? continuation = null;
        do
        {
            var request = new ListObjectsV2Request
            {
                BucketName = _bucket,
                Prefix = keyPrefix,
                Delimiter = recursive ? null : "/",
                MaxKeys = _pageSize,
                ContinuationToken = continuation,
            };
            var page = await _resilience.ExecuteAsync("list", directory, (_client, request),
                static (s, ct) => new ValueTask<ListObjectsV2Response>(s._client.ListObjectsV2Async(s.request, ct)), cancellationToken).ConfigureAwait(false);
            foreach (var common in page.CommonPrefixes ?? [])
            {
                yield return new BackendEntry(ToPath(common.TrimEnd('/')), true, 0, DateTimeOffset.UnixEpoch, "");
            }
            foreach (var obj in page.S3Objects ?? [])
            {
                if (obj.Key.EndsWith('/'))
                {
                    continue; // a "folder marker" written by consoles, not a file
                }
                yield return new BackendEntry(ToPath(obj.Key), false, obj.Size ?? 0, ToOffset(obj.LastModified), EntityTags.Normalize(obj.ETag));
            }
            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);
    }

    public async ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        path = path.Trim('/');
        BackendException? denied = null;
        if (path.Length > 0)
        {
            try
            {
                var head = await _resilience.ExecuteAsync("stat", path, (_client, _bucket, Key: _prefix + path),
                    static (s, ct) => new ValueTask<GetObjectMetadataResponse>(s._client.GetObjectMetadataAsync(s._bucket, s.Key, ct)), cancellationToken).ConfigureAwait(false);
                return new BackendEntry(path, false, head.ContentLength, ToOffset(head.LastModified), EntityTags.Normalize(head.ETag));
            }
            catch (BackendException e) when (e.Kind == BackendErrorKind.NotFound)
            {
                // not an object; maybe a prefix
            }
            catch (BackendException e) when (e.Kind == BackendErrorKind.AccessDenied)
            {
                // A role that may read only "dir/*" is refused a HEAD of "dir" itself (S3 checks the permission before
                // existence): that says nothing until the listing below tells whether "dir" is a directory it may list.
                denied = e;
            }
        }
        var probe = new ListObjectsV2Request { BucketName = _bucket, Prefix = path.Length == 0 ? _prefix : _prefix + path + "/", MaxKeys = 1 };
        var list = await _resilience.ExecuteAsync("stat", path, (_client, probe),
            static (s, ct) => new ValueTask<ListObjectsV2Response>(s._client.ListObjectsV2Async(s.probe, ct)), cancellationToken).ConfigureAwait(false);
        var isDirectory = path.Length == 0 || (list.S3Objects?.Count ?? 0) > 0;
        if (isDirectory)
        {
            return new BackendEntry(path, true, 0, DateTimeOffset.UnixEpoch, "");
        }

        return denied is null ? null : throw denied;
    }

    public ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        ReadVersionAtAsync(path, "", offset, buffer, cancellationToken);

    /// <summary>A ranged GET with If-Match: S3 answers 412 instead of bytes of another version.</summary>
    public ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (buffer.IsEmpty)
        {
            return ValueTask.FromResult(0);
        }
        return _resilience.ExecuteAsync("read", path, (Backend: this, Key: _prefix + path, offset, buffer, expectedETag, path), static async (s, ct) =>
        {
            var request = new GetObjectRequest
            {
                BucketName = s.Backend._bucket,
                Key = s.Key,
                ByteRange = new ByteRange(s.offset, s.offset + s.buffer.Length - 1),
            };
            if (s.expectedETag.Length > 0)
            {
                request.EtagToMatch = EntityTags.Quote(s.expectedETag);
            }
            try
            {
                using var response = await s.Backend._client.GetObjectAsync(request, ct).ConfigureAwait(false);
                // Also checked on the answer itself: not every S3-compatible store honours If-Match.
                if (s.expectedETag.Length > 0 && EntityTags.Normalize(response.ETag) != s.expectedETag)
                {
                    throw new BackendException(BackendErrorKind.Changed, s.Backend.Name, $"'{s.path}' changed while it was read");
                }

                return await ReadFully(response.ResponseStream, s.buffer, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                return 0; // at or past the end
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                throw new BackendException(BackendErrorKind.Changed, s.Backend.Name, $"'{s.path}' changed while it was read");
            }
        }, cancellationToken);
    }

    public async ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        var response = await _resilience.ExecuteAsync("open", path, (_client, _bucket, Key: _prefix + path),
            static (s, ct) => new ValueTask<GetObjectResponse>(s._client.GetObjectAsync(s._bucket, s.Key, ct)), cancellationToken).ConfigureAwait(false);
        return response.ResponseStream;
    }

    public async ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var seekable = await Seekable.From(content, cancellationToken).ConfigureAwait(false);
        await using (seekable.ConfigureAwait(false))
        {
            await _resilience.ExecuteAsync("write", path, (Backend: this, Key: _prefix + path, seekable.Stream), static async (s, ct) =>
            {
                s.Stream.Position = 0;
                var request = new PutObjectRequest
                {
                    BucketName = s.Backend._bucket,
                    Key = s.Key,
                    InputStream = s.Stream,
                    AutoCloseStream = false,
                    UseChunkEncoding = false,
                };
                await s.Backend._client.PutObjectAsync(request, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DeleteAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await _resilience.ExecuteAsync("delete", path, (_client, _bucket, Key: _prefix + path), static async (s, ct) =>
            {
                await s._client.DeleteObjectAsync(s._bucket, s.Key, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (BackendException e) when (e.Kind == BackendErrorKind.NotFound)
        {
            // deleting a missing object is not an error
        }
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    internal static async ValueTask<int> ReadFully(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }
            total += read;
        }
        return total;
    }

    private static AWSCredentials CredentialsFromConfig(BackendConfig config)
    {
        var accessKey = config.SecretFromEnvironment("access_key_env");
        var secretKey = config.SecretFromEnvironment("secret_key_env");
        return accessKey is not null && secretKey is not null
            ? new BasicAWSCredentials(accessKey, secretKey)
            : new AnonymousAWSCredentials();
    }

    private static FailureClass? Classify(Exception e) => e switch
    {
        AmazonServiceException { ErrorCode: "SlowDown" } s => new FailureClass(BackendErrorKind.Throttled, true, $"HTTP {(int)s.StatusCode} (SlowDown)"),
        AmazonServiceException s when (int)s.StatusCode > 0 => FailureClass.FromHttpStatus((int)s.StatusCode, s.ErrorCode),
        _ => FailureClass.FromTransport(e),
    };

    private string ToPath(string key) => key[_prefix.Length..];

    private static DateTimeOffset ToOffset(DateTime? time) =>
        time is { } t ? new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime()) : DateTimeOffset.UnixEpoch;
}
