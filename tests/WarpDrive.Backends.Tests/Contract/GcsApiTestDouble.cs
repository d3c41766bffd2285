using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;

namespace WarpDrive.Backends.Tests.Contract;

/// <summary>
/// TEST DOUBLE: there is no GCS emulator available here, so this serves the handful of GCS JSON API endpoints
/// the backend uses (objects list/get/media/upload/delete) from memory on a loopback HttpListener, checking a
/// bearer token. It follows the documented request/response shapes; it is not a full GCS.
/// </summary>
internal sealed class GcsApiTestDouble : IDisposable
{
    private sealed record StoredObject(byte[] Data, long Generation, DateTimeOffset Updated);

    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, StoredObject> _objects = new(StringComparer.Ordinal);
    private readonly string _bucket;
    private readonly string? _token;
    private readonly Task _loop;
    private long _generation;

    /// <param name="token">The bearer token requests must carry; null serves anonymous requests, like a public bucket.</param>
    public GcsApiTestDouble(string bucket, string? token)
    {
        _bucket = bucket;
        _token = token;
        Port = ServerProcess.FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(Serve);
    }

    public int Port { get; }

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (!_listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            _ = Task.Run(() => Handle(context));
        }
    }

    private async Task Handle(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            if (_token is not null && request.Headers["Authorization"] != "Bearer " + _token)
            {
                response.StatusCode = 401;
                return;
            }
            var raw = request.RawUrl!;
            var query = System.Web.HttpUtility.ParseQueryString(request.Url!.Query);
            var path = raw.Split('?')[0];
            var objectsRoot = $"/storage/v1/b/{_bucket}/o";
            if (request.HttpMethod == "POST" && path == $"/upload/storage/v1/b/{_bucket}/o" && query["uploadType"] == "media")
            {
                using var body = new MemoryStream();
                await request.InputStream.CopyToAsync(body);
                var stored = new StoredObject(body.ToArray(), Interlocked.Increment(ref _generation), DateTimeOffset.UtcNow);
                _objects[query["name"]!] = stored;
                await WriteJson(response, Describe(query["name"]!, stored));
            }
            else if (request.HttpMethod == "GET" && path == objectsRoot)
            {
                await WriteJson(response, List(query["prefix"] ?? "", query["delimiter"], query["pageToken"], int.Parse(query["maxResults"] ?? "1000")));
            }
            else if (path.StartsWith(objectsRoot + "/", StringComparison.Ordinal))
            {
                var name = Uri.UnescapeDataString(path[(objectsRoot.Length + 1)..]);
                if (!_objects.TryGetValue(name, out var stored))
                {
                    response.StatusCode = 404;
                }
                else if (request.HttpMethod == "DELETE")
                {
                    _objects.TryRemove(name, out _);
                    response.StatusCode = 204;
                }
                else if (query["alt"] == "media")
                {
                    await WriteMedia(request, response, stored.Data);
                }
                else
                {
                    await WriteJson(response, Describe(name, stored));
                }
            }
            else
            {
                response.StatusCode = 400;
            }
        }
        finally
        {
            response.Close();
        }
    }

    private static async Task WriteMedia(HttpListenerRequest request, HttpListenerResponse response, byte[] data)
    {
        var (start, end) = (0L, data.Length - 1L);
        if (request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal))
        {
            var parts = range[6..].Split('-');
            start = long.Parse(parts[0]);
            end = parts[1].Length == 0 ? data.Length - 1 : Math.Min(long.Parse(parts[1]), data.Length - 1);
            if (start >= data.Length)
            {
                response.StatusCode = 416;
                return;
            }
            response.StatusCode = 206;
        }
        response.ContentLength64 = end - start + 1;
        await response.OutputStream.WriteAsync(data.AsMemory((int)start, (int)(end - start + 1)));
    }

    private Dictionary<string, object> List(string prefix, string? delimiter, string? pageToken, int maxResults)
    {
        // One sorted sequence of objects and rolled-up prefixes, paged by position like the real API.
        var entries = new SortedDictionary<string, bool>(StringComparer.Ordinal);
        foreach (var name in _objects.Keys.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var cut = delimiter is null ? -1 : name.IndexOf(delimiter, prefix.Length, StringComparison.Ordinal);
            entries[cut < 0 ? name : name[..(cut + 1)]] = cut >= 0;
        }
        var start = pageToken is null ? 0 : int.Parse(pageToken);
        var page = entries.Skip(start).Take(maxResults).ToList();
        var result = new Dictionary<string, object>
        {
            ["kind"] = "storage#objects",
            ["items"] = page.Where(e => !e.Value).Select(e => Describe(e.Key, _objects[e.Key])).ToList(),
            ["prefixes"] = page.Where(e => e.Value).Select(e => e.Key).ToList(),
        };
        if (start + maxResults < entries.Count)
        {
            result["nextPageToken"] = (start + maxResults).ToString();
        }
        return result;
    }

    private Dictionary<string, object> Describe(string name, StoredObject stored) => new()
    {
        ["kind"] = "storage#object",
        ["bucket"] = _bucket,
        ["name"] = name,
        ["size"] = stored.Data.Length.ToString(),
        ["generation"] = stored.Generation.ToString(),
        ["etag"] = $"CL{stored.Generation}E=",
        ["updated"] = stored.Updated.ToString("O"),
    };

    private static async Task WriteJson(HttpListenerResponse response, object value)
    {
        response.ContentType = "application/json";
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value);
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
    }

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
        }
    }
}
