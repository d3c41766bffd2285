using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace WarpDrive.Operator.Tests.Governance;

/// <summary>
/// Stands in for the Kubernetes API server's TokenReview endpoint, which cannot run on this machine (no cluster, no
/// kube-apiserver or etcd binaries, no container runtime). A real HTTP server on 127.0.0.1 (Kestrel) that answers
/// <c>POST /apis/authentication.k8s.io/v1/tokenreviews</c> the way the API server does, from a table of tokens →
/// (user, groups, audiences): a token is authenticated only if its audiences intersect <c>spec.audiences</c> (the API
/// server's own audience when none are asked for), <c>status.audiences</c> is that intersection, and anything else
/// answers <c>authenticated: false</c> with an error. It can also fail with a status, hang, or ignore audiences
/// (as an API server without audience support would), and it counts the reviews it answered.
/// </summary>
internal sealed class KubernetesApiTestDouble : IAsyncDisposable
{
    public const string ApiServerAudience = "https://kubernetes.default.svc.cluster.local";

    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Identity> _tokens = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private int _reviews;

    private KubernetesApiTestDouble(WebApplication app) => _app = app;

    /// <summary>Who a token belongs to and which audiences it was minted for.</summary>
    public sealed record Identity(string User, string[] Groups, string[] Audiences);

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>TokenReview requests received (including failed and hanging ones).</summary>
    public int TokenReviews => Volatile.Read(ref _reviews);

    /// <summary>When set, every TokenReview is answered with this status and a Status body.</summary>
    public HttpStatusCode? FailWith { get; set; }

    /// <summary>When set, TokenReviews never get an answer (until the double stops).</summary>
    public bool Hang { get; set; }

    /// <summary>Like an API server without audience support: known tokens pass, status.audiences is left out.</summary>
    public bool IgnoresAudiences { get; set; }

    public void AddToken(string token, Identity identity) => _tokens[token] = identity;

    public static async Task<KubernetesApiTestDouble> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var double_ = new KubernetesApiTestDouble(app);
        app.MapPost("/apis/authentication.k8s.io/v1/tokenreviews", double_.ReviewAsync);
        await app.StartAsync();
        double_.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");
        return double_;
    }

    /// <summary>A real KubernetesClient pointed at this double (plain HTTP, no credentials).</summary>
    public Kubernetes Client() => new(new KubernetesClientConfiguration { Host = BaseAddress.ToString() });

    private async Task ReviewAsync(HttpContext context)
    {
        Interlocked.Increment(ref _reviews);
        var review = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))!.AsObject();
        if (Hang)
        {
            using var both = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
            await Task.Delay(Timeout.Infinite, both.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            return;
        }

        if (FailWith is { } failure)
        {
            context.Response.StatusCode = (int)failure;
            await context.Response.WriteAsJsonAsync(new { kind = "Status", apiVersion = "v1", status = "Failure", message = "etcdserver: request timed out", code = (int)failure });
            return;
        }

        var spec = review["spec"]!.AsObject();
        var token = spec["token"]?.GetValue<string>() ?? "";
        var asked = spec["audiences"]?.AsArray().Select(a => a!.GetValue<string>()).ToArray() is { Length: > 0 } list ? list : [ApiServerAudience];
        JsonObject status;
        if (!_tokens.TryGetValue(token, out var identity))
        {
            status = new JsonObject { ["authenticated"] = false, ["error"] = "[invalid bearer token, token lookup failed]" };
        }
        else if (IgnoresAudiences)
        {
            status = Authenticated(identity, audiences: null);
        }
        else if (identity.Audiences.Intersect(asked, StringComparer.Ordinal).ToArray() is { Length: > 0 } matched)
        {
            status = Authenticated(identity, matched);
        }
        else
        {
            status = new JsonObject
            {
                ["authenticated"] = false,
                ["error"] = $"[invalid bearer token, token audiences {JsonSerializer.Serialize(identity.Audiences)} is invalid for the target audiences {JsonSerializer.Serialize(asked)}]",
            };
        }

        review["status"] = status;
        review["metadata"] = new JsonObject { ["creationTimestamp"] = null };
        context.Response.StatusCode = StatusCodes.Status201Created;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(review.ToJsonString());
    }

    private static JsonObject Authenticated(Identity identity, string[]? audiences)
    {
        var status = new JsonObject
        {
            ["authenticated"] = true,
            ["user"] = new JsonObject
            {
                ["username"] = identity.User,
                ["uid"] = "uid-" + identity.User,
                ["groups"] = new JsonArray(identity.Groups.Select(g => (JsonNode)JsonValue.Create(g)).ToArray()),
            },
        };
        if (audiences is not null)
        {
            status["audiences"] = new JsonArray(audiences.Select(a => (JsonNode)JsonValue.Create(a)).ToArray());
        }

        return status;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
