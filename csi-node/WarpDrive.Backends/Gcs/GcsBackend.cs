using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using WarpDrive.Backends.Resilience;

namespace WarpDrive.Backends.Gcs;

/// <summary>A bucket (or a prefix in it) on Google Cloud Storage, through the JSON API over plain HttpClient.</summary>
/// <remarks>
/// Config keys: bucket; endpoint (default https://storage.googleapis.com); prefix; timeout; page_size.
/// A bearer token comes from the injected token source on every request (so a refreshing source just works);
/// without one requests are anonymous (public buckets).
/// </remarks>
public sealed class GcsBackend : IBackend
{
    private readonly HttpClient _http;
    private readonly string _endpoint;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly int _pageSize;
    private readonly Func<CancellationToken, ValueTask<string>>? _tokenSource;
    private readonly BackendResilience _resilience;

    public GcsBackend(string name, IReadOnlyDictionary<string, string> config, Func<CancellationToken, ValueTask<string>>? tokenSource = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        var c = new BackendConfig(Type, config);
        _bucket = c.Required("bucket");
        _endpoint = (c.Optional("endpoint") ?? "https://storage.googleapis.com").TrimEnd('/');
        _prefix = c.Prefix();
        _pageSize = c.Int("page_size", 1000);
        _tokenSource = tokenSource;
        _resilience = BackendResilience.FromConfig(name, c, Classify);
        // The per-attempt timeout is the resilience pipeline's; HttpClient's own would fire as a non-retried cancellation.
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
    }

    public string Name { get; }

    public string Type => "gcs";

    public async IAsyncEnumerable<BackendEntry> ListAsync(string prefix, bool recursive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var directory = prefix.Trim('/');
        var objectPrefix = directory.Length == 0 ? _prefix : _prefix + directory + "/";
        string? pageToken = null;
        do
        {
            var url = $"{_endpoint}/storage/v1/b/{Uri.EscapeDataString(_bucket)}/o?prefix={Uri.EscapeDataString(objectPrefix)}&maxResults={_pageSize}"
                + (recursive ? "" : "&delimiter=%2F")
                + (pageToken is null ? "" : "&pageToken=" + Uri.EscapeDataString(pageToken));
            var page = await _resilience.ExecuteAsync("list", directory, (Backend: this, url), static async (s, ct) =>
            {
                using var response = await s.Backend.SendAsync(HttpMethod.Get, s.url, null, null, ct).ConfigureAwait(false);
                return (await response.Content.ReadFromJsonAsync(GcsJson.Default.GcsObjectList, ct).ConfigureAwait(false))!;
            }, cancellationToken).ConfigureAwait(false);
            foreach (var p in page.Prefixes ?? [])
            {
                yield return new BackendEntry(ToPath(p.TrimEnd('/')), true, 0, DateTimeOffset.UnixEpoch, "");
            }
            foreach (var item in page.Items ?? [])
            {
                if (!item.Name.EndsWith('/'))
                {
                    yield return ToEntry(item);
                }
            }
            pageToken = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(pageToken));
    }

    public async ValueTask<BackendEntry?> StatAsync(string path, CancellationToken cancellationToken)
    {
        path = path.Trim('/');
        if (path.Length > 0)
        {
            try
            {
                var item = await _resilience.ExecuteAsync("stat", path, (Backend: this, Url: ObjectUrl(path) + "?alt=json"), static async (s, ct) =>
                {
                    using var response = await s.Backend.SendAsync(HttpMethod.Get, s.Url, null, null, ct).ConfigureAwait(false);
                    return (await response.Content.ReadFromJsonAsync(GcsJson.Default.GcsObject, ct).ConfigureAwait(false))!;
                }, cancellationToken).ConfigureAwait(false);
                return ToEntry(item);
            }
            catch (BackendException e) when (e.Kind == BackendErrorKind.NotFound)
            {
                // not an object; maybe a prefix
            }
        }
        var probe = $"{_endpoint}/storage/v1/b/{Uri.EscapeDataString(_bucket)}/o?maxResults=1&prefix={Uri.EscapeDataString(path.Length == 0 ? _prefix : _prefix + path + "/")}";
        var list = await _resilience.ExecuteAsync("stat", path, (Backend: this, probe), static async (s, ct) =>
        {
            using var response = await s.Backend.SendAsync(HttpMethod.Get, s.probe, null, null, ct).ConfigureAwait(false);
            return (await response.Content.ReadFromJsonAsync(GcsJson.Default.GcsObjectList, ct).ConfigureAwait(false))!;
        }, cancellationToken).ConfigureAwait(false);
        return path.Length == 0 || (list.Items?.Count ?? 0) > 0 ? new BackendEntry(path, true, 0, DateTimeOffset.UnixEpoch, "") : null;
    }

    public ValueTask<int> ReadAtAsync(string path, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (buffer.IsEmpty)
        {
            return ValueTask.FromResult(0);
        }
        return _resilience.ExecuteAsync("read", path, (Backend: this, Url: ObjectUrl(path) + "?alt=media", offset, buffer), static async (s, ct) =>
        {
            var range = new RangeHeaderValue(s.offset, s.offset + s.buffer.Length - 1);
            using var response = await s.Backend.SendAsync(HttpMethod.Get, s.Url, null, range, ct, allowRangeNotSatisfiable: true).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                return 0;
            }
            var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                return await S3.S3Backend.ReadFully(body, s.buffer, ct).ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    /// <summary>No conditional ranged read is used here: read, then compare the ETag with a fresh stat.</summary>
    public ValueTask<int> ReadVersionAtAsync(string path, string expectedETag, long offset, Memory<byte> buffer, CancellationToken cancellationToken) =>
        VersionCheck.ReadThenCompareAsync(this, path, expectedETag, offset, buffer, cancellationToken);

    public async ValueTask<Stream> OpenReadAsync(string path, CancellationToken cancellationToken)
    {
        var response = await _resilience.ExecuteAsync("open", path, (Backend: this, Url: ObjectUrl(path) + "?alt=media"),
            static (s, ct) => s.Backend.SendAsync(HttpMethod.Get, s.Url, null, null, ct, streamBody: true), cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask WriteAsync(string path, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var seekable = await Seekable.From(content, cancellationToken).ConfigureAwait(false);
        await using (seekable.ConfigureAwait(false))
        {
            var url = $"{_endpoint}/upload/storage/v1/b/{Uri.EscapeDataString(_bucket)}/o?uploadType=media&name={Uri.EscapeDataString(_prefix + path)}";
            await _resilience.ExecuteAsync("write", path, (Backend: this, url, seekable.Stream), static async (s, ct) =>
            {
                s.Stream.Position = 0;
                var body = new StreamContent(new NonDisposingStream(s.Stream));
                body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                using var response = await s.Backend.SendAsync(HttpMethod.Post, s.url, body, null, ct).ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DeleteAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            await _resilience.ExecuteAsync("delete", path, (Backend: this, Url: ObjectUrl(path)), static async (s, ct) =>
            {
                using var response = await s.Backend.SendAsync(HttpMethod.Delete, s.Url, null, null, ct).ConfigureAwait(false);
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
        _http.Dispose();
        return ValueTask.CompletedTask;
    }

    private string ObjectUrl(string path) =>
        $"{_endpoint}/storage/v1/b/{Uri.EscapeDataString(_bucket)}/o/{Uri.EscapeDataString(_prefix + path.Trim('/'))}";

    /// <summary>Sends one request; a non-success status becomes <see cref="GcsHttpException"/> for the classifier.</summary>
    private async ValueTask<HttpResponseMessage> SendAsync(HttpMethod method, string url, HttpContent? content, RangeHeaderValue? range, CancellationToken cancellationToken, bool allowRangeNotSatisfiable = false, bool streamBody = false)
    {
        using var request = new HttpRequestMessage(method, url) { Content = content };
        request.Headers.Range = range;
        if (_tokenSource is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await _tokenSource(cancellationToken).ConfigureAwait(false));
        }
        var response = await _http.SendAsync(request, streamBody || range is not null ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        if (response.IsSuccessStatusCode || (allowRangeNotSatisfiable && response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable))
        {
            return response;
        }
        var status = (int)response.StatusCode;
        response.Dispose();
        throw new GcsHttpException(status);
    }

    private static FailureClass? Classify(Exception e) => e switch
    {
        GcsHttpException h => FailureClass.FromHttpStatus(h.Status, null),
        JsonException => new FailureClass(BackendErrorKind.Other, false, "malformed JSON response"),
        _ => FailureClass.FromTransport(e),
    };

    private BackendEntry ToEntry(GcsObject item) => new(
        ToPath(item.Name),
        false,
        long.Parse(item.Size ?? "0", CultureInfo.InvariantCulture),
        item.Updated ?? DateTimeOffset.UnixEpoch,
        EntityTags.Normalize(item.Etag ?? item.Generation));

    private string ToPath(string objectName) => objectName[_prefix.Length..];
}

/// <summary>A non-success HTTP status from the GCS API (status only: bodies may echo request details).</summary>
public sealed class GcsHttpException(int status) : Exception($"HTTP {status}")
{
    public int Status { get; } = status;
}

internal sealed record GcsObject(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("size")] string? Size,
    [property: JsonPropertyName("updated")] DateTimeOffset? Updated,
    [property: JsonPropertyName("etag")] string? Etag,
    [property: JsonPropertyName("generation")] string? Generation);

internal sealed record GcsObjectList(
    [property: JsonPropertyName("items")] List<GcsObject>? Items,
    [property: JsonPropertyName("prefixes")] List<string>? Prefixes,
    [property: JsonPropertyName("nextPageToken")] string? NextPageToken);

[JsonSerializable(typeof(GcsObject))]
[JsonSerializable(typeof(GcsObjectList))]
internal sealed partial class GcsJson : JsonSerializerContext;

/// <summary>Lets HttpClient dispose its content without closing the caller's (rewindable) stream.</summary>
internal sealed class NonDisposingStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => inner.CanSeek;
    public override bool CanWrite => false;
    public override long Length => inner.Length;
    public override long Position { get => inner.Position; set => inner.Position = value; }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
    public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
