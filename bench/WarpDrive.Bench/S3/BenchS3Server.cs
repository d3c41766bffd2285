using System.Buffers;
using System.Globalization;
using System.Net;
using System.Security;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace WarpDrive.Bench.S3;

/// <summary>
/// A read-only S3-compatible responder for benchmarks only: one bucket served from a directory, path-style, on
/// Kestrel. It answers what the benchmarked clients send (WarpDrive's S3 backend, rclone, s3fs): GET object with
/// Range and If-Match, HEAD object and bucket, ListObjects V1 and V2 (prefix, delimiter, max-keys, marker /
/// continuation-token / start-after, encoding-type=url) and GetBucketLocation. Signatures are not checked: it is
/// loopback-only and holds public benchmark data. s3rver stays the server of the correctness tests.
/// </summary>
/// <remarks>
/// Why not s3rver here: it is single-threaded Node and, on two cores, was as much the bottleneck of the cold
/// figures as the clients. This one reads each range with pread straight into Kestrel's output pipe (one copy,
/// file to socket buffer; Kestrel has no sendfile(2) path on Linux, its SendFileAsync copies through a FileStream
/// buffer first), and serves requests on the thread pool, so both cores can work for it.
/// </remarks>
internal sealed class BenchS3Server
{
    private const string Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";
    private const int ChunkBytes = 256 * 1024;
    private readonly string _root;
    private readonly string _bucket;
    private readonly ObjectIndex _index;

    public BenchS3Server(string root, string bucket)
    {
        _root = Path.GetFullPath(root);
        _bucket = bucket;
        _index = ObjectIndex.Build(_root);
    }

    public int ObjectCount => _index.Count;

    public async Task RunAsync(int port, CancellationToken cancellationToken)
    {
        var app = await StartAsync(port, cancellationToken).ConfigureAwait(false);
        await using (app.ConfigureAwait(false))
        {
            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Listens on 127.0.0.1:<paramref name="port"/> and returns once it accepts connections; dispose to stop.</summary>
    public async Task<WebApplication> StartAsync(int port, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = null;
        });
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        return app;
    }

    /// <summary>Routes one request: /bucket[/] is the bucket, /bucket/key an object.</summary>
    internal Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        var rest = path.TrimStart('/');
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? rest : rest[..slash];
        var key = slash < 0 ? "" : rest[(slash + 1)..];
        var method = context.Request.Method;
        if (bucket != _bucket)
        {
            return ErrorAsync(context, 404, "NoSuchBucket", "The specified bucket does not exist.");
        }

        if (method != HttpMethods.Get && method != HttpMethods.Head)
        {
            return ErrorAsync(context, 501, "NotImplemented", "This benchmark endpoint is read-only.");
        }

        if (key.Length == 0)
        {
            if (method == HttpMethods.Head)
            {
                return Task.CompletedTask;
            }

            return context.Request.Query.ContainsKey("location") ? LocationAsync(context) : ListAsync(context);
        }

        return ObjectAsync(context, key, head: method == HttpMethods.Head);
    }

    private async Task ObjectAsync(HttpContext context, string key, bool head)
    {
        var file = Resolve(key);
        if (file is null)
        {
            await ErrorAsync(context, 404, "NoSuchKey", "The specified key does not exist.").ConfigureAwait(false);
            return;
        }

        var item = ObjectIndex.Describe(key, file);
        var request = context.Request;
        var response = context.Response;
        var ifMatch = request.Headers.IfMatch.ToString();
        if (ifMatch.Length > 0 && ifMatch != "*" && ifMatch.Trim() != item.ETag)
        {
            await ErrorAsync(context, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.").ConfigureAwait(false);
            return;
        }

        long offset = 0, length = item.Size;
        var range = request.Headers.Range.ToString();
        if (range.Length > 0)
        {
            if (!TryParseRange(range, item.Size, out offset, out length))
            {
                response.Headers.ContentRange = $"bytes */{item.Size}";
                await ErrorAsync(context, 416, "InvalidRange", "The requested range is not satisfiable.").ConfigureAwait(false);
                return;
            }

            response.StatusCode = 206;
            response.Headers.ContentRange = $"bytes {offset}-{offset + length - 1}/{item.Size}";
        }

        response.ContentLength = length;
        response.ContentType = "application/octet-stream";
        response.Headers.ETag = item.ETag;
        response.Headers.LastModified = item.LastModifiedUtc.ToString("R", CultureInfo.InvariantCulture);
        response.Headers.AcceptRanges = "bytes";
        if (head || length == 0)
        {
            return;
        }

        using var handle = File.OpenHandle(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read);
        var writer = response.BodyWriter;
        var end = offset + length;
        while (offset < end)
        {
            var memory = writer.GetMemory(ChunkBytes);
            var want = (int)Math.Min(memory.Length, end - offset);
            var read = RandomAccess.Read(handle, memory.Span[..want], offset);
            if (read <= 0)
            {
                // The file shrank under us: end the response short, which the client sees as a broken body.
                context.Abort();
                return;
            }

            writer.Advance(read);
            offset += read;
            var flush = await writer.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            if (flush.IsCanceled || flush.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>The file for a key, or null when it does not exist or would lie outside the root.</summary>
    private FileInfo? Resolve(string key)
    {
        if (key.EndsWith('/') || key.Split('/').Any(s => s is "" or "." or ".."))
        {
            return null;
        }

        var file = new FileInfo(Path.Combine(_root, key));
        return file.Exists && file.FullName.StartsWith(_root + "/", StringComparison.Ordinal) ? file : null;
    }

    /// <summary>One "bytes=a-b", "bytes=a-" or "bytes=-n" range, clamped to the object like S3 does.</summary>
    internal static bool TryParseRange(string header, long size, out long offset, out long length)
    {
        offset = 0;
        length = 0;
        if (!header.StartsWith("bytes=", StringComparison.Ordinal) || header.Contains(',', StringComparison.Ordinal))
        {
            return false;
        }

        var spec = header.AsSpan(6).Trim();
        var dash = spec.IndexOf('-');
        if (dash < 0)
        {
            return false;
        }

        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        if (first.IsEmpty)
        {
            if (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var suffix) || suffix == 0 || size == 0)
            {
                return false;
            }

            offset = Math.Max(0, size - suffix);
            length = size - offset;
            return true;
        }

        if (!long.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out offset) || offset >= size)
        {
            return false;
        }

        var end = size - 1;
        if (!last.IsEmpty && (!long.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out end) || end < offset))
        {
            return false;
        }

        length = Math.Min(end, size - 1) - offset + 1;
        return true;
    }

    private Task LocationAsync(HttpContext context) =>
        XmlAsync(context, $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><LocationConstraint xmlns=\"{Namespace}\"></LocationConstraint>");

    private Task ListAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var v2 = query["list-type"] == "2";
        var prefix = query["prefix"].ToString();
        var delimiter = query["delimiter"].ToString();
        var urlEncoded = query["encoding-type"] == "url";
        var maxKeys = int.TryParse(query["max-keys"], NumberStyles.None, CultureInfo.InvariantCulture, out var m) ? Math.Clamp(m, 1, 1000) : 1000;
        string? after;
        if (v2)
        {
            var token = query["continuation-token"].ToString();
            after = token.Length > 0 ? Encoding.UTF8.GetString(Convert.FromBase64String(token)) : NullIfEmpty(query["start-after"].ToString());
        }
        else
        {
            after = NullIfEmpty(query["marker"].ToString());
        }

        var page = _index.List(prefix, NullIfEmpty(delimiter), after, maxKeys);
        string Text(string value) => SecurityElement.Escape(urlEncoded ? EncodeKey(value) : value);
        var xml = new StringBuilder(256 + (page.Contents.Count * 256));
        xml.Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        xml.Append(CultureInfo.InvariantCulture, $"<ListBucketResult xmlns=\"{Namespace}\"><Name>{SecurityElement.Escape(_bucket)}</Name>");
        xml.Append(CultureInfo.InvariantCulture, $"<Prefix>{Text(prefix)}</Prefix>");
        if (delimiter.Length > 0)
        {
            xml.Append(CultureInfo.InvariantCulture, $"<Delimiter>{Text(delimiter)}</Delimiter>");
        }

        xml.Append(CultureInfo.InvariantCulture, $"<MaxKeys>{maxKeys}</MaxKeys>");
        if (urlEncoded)
        {
            xml.Append("<EncodingType>url</EncodingType>");
        }

        xml.Append(CultureInfo.InvariantCulture, $"<IsTruncated>{(page.IsTruncated ? "true" : "false")}</IsTruncated>");
        if (v2)
        {
            xml.Append(CultureInfo.InvariantCulture, $"<KeyCount>{page.Contents.Count + page.CommonPrefixes.Count}</KeyCount>");
            if (query["continuation-token"].ToString() is { Length: > 0 } token)
            {
                xml.Append(CultureInfo.InvariantCulture, $"<ContinuationToken>{SecurityElement.Escape(token)}</ContinuationToken>");
            }

            if (page.IsTruncated && page.NextAfter is { } next)
            {
                xml.Append(CultureInfo.InvariantCulture, $"<NextContinuationToken>{Convert.ToBase64String(Encoding.UTF8.GetBytes(next))}</NextContinuationToken>");
            }
        }
        else
        {
            xml.Append(CultureInfo.InvariantCulture, $"<Marker>{Text(after ?? "")}</Marker>");
            if (page.IsTruncated && page.NextAfter is { } next)
            {
                xml.Append(CultureInfo.InvariantCulture, $"<NextMarker>{Text(next)}</NextMarker>");
            }
        }

        foreach (var item in page.Contents)
        {
            xml.Append(CultureInfo.InvariantCulture,
                $"<Contents><Key>{Text(item.Key)}</Key><LastModified>{item.LastModifiedUtc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)}</LastModified><ETag>{SecurityElement.Escape(item.ETag)}</ETag><Size>{item.Size}</Size><StorageClass>STANDARD</StorageClass></Contents>");
        }

        foreach (var common in page.CommonPrefixes)
        {
            xml.Append(CultureInfo.InvariantCulture, $"<CommonPrefixes><Prefix>{Text(common)}</Prefix></CommonPrefixes>");
        }

        xml.Append("</ListBucketResult>");
        return XmlAsync(context, xml.ToString());
    }

    /// <summary>encoding-type=url: each character but unreserved ones and '/' percent-encoded, as S3 does.</summary>
    private static string EncodeKey(string key) => string.Join('/', key.Split('/').Select(Uri.EscapeDataString));

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    private static Task ErrorAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        return context.Request.Method == HttpMethods.Head
            ? Task.CompletedTask
            : XmlAsync(context, $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{SecurityElement.Escape(message)}</Message></Error>");
    }

    private static async Task XmlAsync(HttpContext context, string xml)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(xml.Length));
        try
        {
            var count = Encoding.UTF8.GetBytes(xml, bytes);
            context.Response.ContentType = "application/xml";
            context.Response.ContentLength = count;
            await context.Response.Body.WriteAsync(bytes.AsMemory(0, count), context.RequestAborted).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
