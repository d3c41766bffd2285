using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WarpDrive.Tests.Shared;

namespace WarpDrive.Csi.Tests.PodIdentity;

/// <summary>One object request the gateway judged: which role asked (by its STS session), for what, and the verdict.</summary>
internal sealed record JudgedRequest(string Method, string Key, string RoleArn, string WebIdentityToken, bool Allowed);

/// <summary>
/// Test double of IAM's policy evaluation in front of a real s3rver, because s3rver checks no permissions and IAM cannot
/// run here. A reverse proxy on 127.0.0.1: each object request (GET or HEAD of a key) is judged by the role of the STS
/// session whose token it carries (<c>x-amz-security-token</c>, looked up in the <see cref="IdentityEndpointsTestDouble"/>
/// that issued it) against that role's readable prefixes — as a role policy granting <c>s3:GetObject</c> on
/// <c>bucket/prefix*</c> does — and refused with S3's own 403 AccessDenied when not allowed. Listings are allowed to
/// every role (a policy granting <c>s3:ListBucket</c> on the whole bucket). Allowed requests go to s3rver unchanged.
/// </summary>
internal sealed class S3PolicyGatewayTestDouble : IAsyncDisposable
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Transfer-Encoding", "Keep-Alive", "Content-Length", "Expect",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _upstream = new(new SocketsHttpHandler { AllowAutoRedirect = false });
    private readonly Uri _s3;
    private readonly IdentityEndpointsTestDouble _sts;
    private readonly ConcurrentDictionary<string, string[]> _readablePrefixes = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<JudgedRequest> _judged = new();

    private S3PolicyGatewayTestDouble(WebApplication app, Uri s3, IdentityEndpointsTestDouble sts)
    {
        _app = app;
        _s3 = s3;
        _sts = sts;
    }

    public Uri Url { get; private set; } = null!;

    public IReadOnlyList<JudgedRequest> Judged => [.. _judged];

    public static async Task<S3PolicyGatewayTestDouble> StartAsync(Uri s3, IdentityEndpointsTestDouble sts)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var gateway = new S3PolicyGatewayTestDouble(app, s3, sts);
        app.Run(gateway.HandleAsync);
        await app.StartAsync();
        gateway.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return gateway;
    }

    /// <summary>The role's policy: <c>s3:GetObject</c> on keys starting with one of <paramref name="prefixes"/>.</summary>
    public void Allow(string roleArn, params string[] prefixes) => _readablePrefixes[roleArn] = prefixes;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        // Path style: /<bucket>/<key>. A key names an object; no key is a bucket operation (a listing).
        var segments = (request.Path.Value ?? "/").TrimStart('/').Split('/', 2);
        var key = segments.Length == 2 ? Uri.UnescapeDataString(segments[1]) : "";
        if (key.Length > 0 && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
        {
            var session = _sts.SessionOf(request.Headers["x-amz-security-token"].ToString());
            var allowed = session is not null && _readablePrefixes.TryGetValue(session.RoleArn, out var prefixes)
                && prefixes.Any(p => key.StartsWith(p, StringComparison.Ordinal));
            _judged.Enqueue(new JudgedRequest(request.Method, key, session?.RoleArn ?? "", session?.WebIdentityToken ?? "", allowed));
            if (!allowed)
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                if (!HttpMethods.IsHead(request.Method))
                {
                    context.Response.ContentType = "application/xml";
                    await context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
                }

                return;
            }
        }

        await ForwardAsync(context);
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(_s3, request.Path.Value + request.QueryString.Value));
        if (request.ContentLength is > 0 || request.Headers.ContainsKey("Transfer-Encoding"))
        {
            forward.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HopHeaders.Contains(name))
            {
                continue;
            }

            if (!forward.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values))
            {
                forward.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values);
            }
        }

        using var answer = await _upstream.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        context.Response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
        {
            if (!HopHeaders.Contains(name) || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        if (!HttpMethods.IsHead(request.Method))
        {
            await answer.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }
}
