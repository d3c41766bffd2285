using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace WarpDrive.ControlPlane;

/// <summary>
/// Serves the dashboard's static files (a Vite build) at <c>/</c>, same origin as the API. The files carry no data
/// and need no token; every API call the page makes is guarded as usual. Hashed assets are cached for a year,
/// index.html never, so a new build is picked up on the next load.
/// </summary>
internal sealed class Dashboard
{
    private const string IndexFile = "index.html";

    // The page loads only its own scripts and styles; the chart library sets inline style attributes.
    private const string ContentSecurityPolicy =
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    private readonly PhysicalFileProvider _files;

    private Dashboard(PhysicalFileProvider files) => _files = files;

    /// <summary>The dashboard in <paramref name="directory"/>, or null when it was not built (no index.html).</summary>
    public static Dashboard? Open(string? directory) =>
        directory is not null && File.Exists(Path.Combine(directory, IndexFile)) ? new Dashboard(new PhysicalFileProvider(Path.GetFullPath(directory))) : null;

    /// <summary>A browser asking for a page of the app (a client-side route): a GET outside the API and the health check.</summary>
    public static bool IsPageRequest(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && !request.Path.StartsWithSegments("/api") && !request.Path.StartsWithSegments("/healthz");

    public void UseStaticFiles(IApplicationBuilder app)
    {
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = _files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = _files,
            OnPrepareResponse = context => SetHeaders(context.Context.Response, immutable: context.Context.Request.Path.StartsWithSegments("/assets")),
        });
    }

    /// <summary>index.html for a client-side route such as <c>/teams</c> (the app reads the path itself).</summary>
    public Task WriteIndexAsync(HttpContext context)
    {
        SetHeaders(context.Response, immutable: false);
        context.Response.ContentType = "text/html; charset=utf-8";
        return context.Response.SendFileAsync(_files.GetFileInfo(IndexFile), context.RequestAborted);
    }

    private static void SetHeaders(HttpResponse response, bool immutable)
    {
        // Vite puts a content hash in every file name under assets/; anything else (index.html) must be revalidated.
        response.Headers.CacheControl = immutable ? "public, max-age=31536000, immutable" : "no-cache";
        response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        response.Headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
        response.Headers["Referrer-Policy"] = "no-referrer";
    }
}
