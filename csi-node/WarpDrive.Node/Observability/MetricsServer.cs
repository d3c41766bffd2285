using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace WarpDrive.Node.Observability;

/// <summary>
/// The agent's HTTP listener on <c>metrics.addr</c>: <c>/metrics</c> (OpenTelemetry's Prometheus exporter over the
/// WarpDrive.Fuse and WarpDrive.Node meters) and <c>/healthz</c>. Serves both the standalone agent and the CSI plugin.
/// </summary>
public sealed class MetricsServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MetricsServer(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
    }

    /// <summary>Drops the agent's listing and metadata caches (as SIGHUP does); loopback clients only.</summary>
    public const string DropCachesPath = "/admin/drop-caches";

    /// <summary>The bound address (the real port when <c>metrics.addr</c> asked for port 0).</summary>
    public Uri Address { get; }

    /// <param name="dropCaches">
    /// Serves <c>POST /admin/drop-caches</c> when given: 204 after dropping, 503 while there is nothing to drop yet
    /// (not mounted). Answered only to loopback clients (403 otherwise): the listener may be bound to every interface
    /// for Prometheus, and dropping caches costs backend requests.
    /// </param>
    public static async Task<MetricsServer> StartAsync(string listenAddress, HealthReport health, ILoggerFactory loggers, Func<bool>? dropCaches = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(ParseEndPoint(listenAddress)));
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(WarpDrive.Fuse.FuseMetrics.MeterName, NodeMetrics.MeterName, WarpDrive.Telemetry.AccessRecorder.MeterName)
            .AddPrometheusExporter());
        var app = builder.Build();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapGet("/healthz", () =>
        {
            var (status, json) = health.Run();
            return Results.Content(json, "application/json", statusCode: status);
        });
        if (dropCaches is not null)
        {
            app.MapPost(DropCachesPath, (HttpContext context) =>
                context.Connection.RemoteIpAddress is not { } client || !IPAddress.IsLoopback(client)
                    ? Results.Text("only loopback clients may drop caches\n", statusCode: StatusCodes.Status403Forbidden)
                    : dropCaches()
                        ? Results.NoContent()
                        : Results.Text("not mounted yet\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        }

        await app.StartAsync().ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        loggers.CreateLogger<MetricsServer>().LogInformation("serving /metrics and /healthz on {Address}", bound);
        return new MetricsServer(app, new Uri(bound.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal)));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary><c>[host]:port</c> as the config validator accepts it; an empty host is every interface.</summary>
    public static IPEndPoint ParseEndPoint(string address)
    {
        var colon = address.LastIndexOf(':');
        var host = address[..colon].Trim('[', ']');
        var port = int.Parse(address[(colon + 1)..], CultureInfo.InvariantCulture);
        return new IPEndPoint(host.Length == 0 ? IPAddress.Any : IPAddress.Parse(host), port);
    }
}
