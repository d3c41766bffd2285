using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>
/// The control plane's REST API (v1) as the CLI uses it: bearer token from a file, paginated lists followed to the
/// end (or a limit), RFC 7807 problems turned into one readable line. The token never appears in a message.
/// </summary>
internal sealed class ControlPlaneClient : IDisposable
{
    private const int MaxPage = 1000;

    private readonly HttpClient _http;
    private readonly Uri _server;
    private readonly FileInfo? _tokenFile;

    public ControlPlaneClient(string server, FileInfo? tokenFile, TimeSpan? timeout = null)
    {
        if (!Uri.TryCreate(server, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CtlException($"--server '{server}' is not an http(s) URL", ExitCodes.Usage);
        }

        _server = uri;
        _tokenFile = tokenFile;
        _http = new HttpClient { Timeout = timeout ?? TimeSpan.FromSeconds(30) };
    }

    /// <summary>Every item of a list endpoint, page after page, or the first <paramref name="limit"/> items.</summary>
    public async Task<List<JsonElement>> ListAsync(string path, IReadOnlyDictionary<string, string?> query, int? limit, CancellationToken cancellationToken)
    {
        var items = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var page = Math.Min(MaxPage, limit is { } l ? l - items.Count : MaxPage);
            var parameters = query.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => (p.Key, p.Value!))
                .Append(("limit", page.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            if (cursor is not null)
            {
                parameters = parameters.Append(("cursor", cursor));
            }

            var body = await SendAsync(HttpMethod.Get, path + "?" + string.Join('&', parameters.Select(p => $"{p.Item1}={Uri.EscapeDataString(p.Item2)}")), null, cancellationToken);
            if (!body.TryGetProperty("items", out var pageItems) || pageItems.ValueKind != JsonValueKind.Array)
            {
                throw new CtlException($"GET {path}: the server's answer has no items list");
            }

            items.AddRange(pageItems.EnumerateArray().Select(i => i.Clone()));
            cursor = body.TryGetProperty("next_cursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null && (limit is null || items.Count < limit));

        return items;
    }

    public async Task<JsonElement> SendAsync(HttpMethod method, string pathAndQuery, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(_server, pathAndQuery));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: JsonOptions.SnakeCase);
        }

        if (await ReadTokenAsync(cancellationToken) is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        var what = $"{method} {request.RequestUri!.AbsolutePath}";
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new CtlException($"cannot reach the control plane at {_server.GetLeftPart(UriPartial.Authority)} ({e.Message}); is it running? (--server, WARPDRIVE_SERVER)");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CtlException($"{what}: the control plane at {_server.GetLeftPart(UriPartial.Authority)} did not answer in time");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new CtlException($"{what}: {(int)response.StatusCode} {Problem(response.StatusCode, text)}");
            }

            try
            {
                return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                throw new CtlException($"{what}: the server's answer is not JSON");
            }
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task<string?> ReadTokenAsync(CancellationToken cancellationToken)
    {
        if (_tokenFile is null)
        {
            return null;
        }

        try
        {
            return (await File.ReadAllTextAsync(_tokenFile.FullName, cancellationToken)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CtlException($"cannot read the token file {_tokenFile.FullName}: {(e is FileNotFoundException or DirectoryNotFoundException ? "it does not exist" : UsageErrors.OneLine(e.Message))} (--token-file, WARPDRIVE_TOKEN_FILE)");
        }
    }

    private static string Problem(HttpStatusCode status, string text)
    {
        string? title = null;
        string? detail = null;
        try
        {
            var problem = JsonDocument.Parse(text).RootElement;
            title = problem.TryGetProperty("title", out var t) ? t.GetString() : null;
            detail = problem.TryGetProperty("detail", out var d) ? d.GetString() : null;
        }
        catch (JsonException)
        {
        }

        var hint = status switch
        {
            HttpStatusCode.Unauthorized => " (give a token with --token-file or WARPDRIVE_TOKEN_FILE)",
            HttpStatusCode.Forbidden => " (this token's role may not do that)",
            _ => "",
        };
        var message = string.Join(": ", new[] { title ?? status.ToString(), detail }.Where(s => !string.IsNullOrEmpty(s)));
        return message + hint;
    }
}
