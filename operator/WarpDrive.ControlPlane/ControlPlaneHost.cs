using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Backends;
using WarpDrive.Config;
using WarpDrive.ControlPlane.Api;
using WarpDrive.ControlPlane.Auth;
using WarpDrive.ControlPlane.Crawling;
using WarpDrive.ControlPlane.Quotas;
using WarpDrive.ControlPlane.Store;

namespace WarpDrive.ControlPlane;

/// <summary>
/// The governance control plane: store (migrated on start), crawler, quota monitor and the REST API on Kestrel.
/// Embeddable (<see cref="StartAsync"/> returns once listening; dispose to stop) or run alone (<see cref="RunAsync"/>).
/// Owns the store, the crawler and the backends it created from the node config; stops them in reverse order.
/// </summary>
public sealed class ControlPlaneHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SqlGovernanceStore _store;
    private readonly StorageCrawler _crawler;
    private readonly QuotaMonitor _quotas;
    private readonly List<IBackend> _ownedBackends;

    private ControlPlaneHost(WebApplication app, SqlGovernanceStore store, StorageCrawler crawler, QuotaMonitor quotas, List<IBackend> ownedBackends, Uri baseAddress, Uri? grpcAddress,
        bool servesDashboard)
    {
        ServesDashboard = servesDashboard;
        GrpcAddress = grpcAddress;
        _app = app;
        _store = store;
        _crawler = crawler;
        _quotas = quotas;
        _ownedBackends = ownedBackends;
        BaseAddress = baseAddress;
    }

    /// <summary>Where the API listens, e.g. http://127.0.0.1:8090/ (the real port when 0 was asked for).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Where the gRPC ingest listens (HTTP/2 cleartext); null when <see cref="ControlPlaneOptions.GrpcListenAddress"/> is not set.</summary>
    public Uri? GrpcAddress { get; }

    public IGovernanceStore Store => _store;

    /// <summary>Whether the dashboard's files were found (<see cref="ControlPlaneOptions.DashboardDirectory"/>) and are served at /.</summary>
    public bool ServesDashboard { get; }

    /// <summary>Starts, serves until <paramref name="cancellationToken"/> fires, then stops cleanly.</summary>
    public static async Task RunAsync(ControlPlaneOptions options, CancellationToken cancellationToken)
    {
        await using var host = await StartAsync(options, cancellationToken).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public static async Task<ControlPlaneHost> StartAsync(ControlPlaneOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var loggerFactory = options.LoggerFactory ?? NullLoggerFactory.Instance;
        var log = loggerFactory.CreateLogger<ControlPlaneHost>();
        var (address, port) = ParseListenAddress(options.ListenAddress);
        var grpcListen = options.GrpcListenAddress is { } grpc ? ParseListenAddress(grpc) : ((IPAddress?, int)?)null;
        var validator = options.TokenValidator ?? FileTokenValidator.Load(options.TokensFile
            ?? throw new ArgumentException("control plane: a tokens file (or a token validator) is required", nameof(options)));
        var target = DatabaseTarget.Parse(options.Database);
        var password = options.DatabasePasswordEnvironmentVariable is { Length: > 0 } variable ? Environment.GetEnvironmentVariable(variable) : null;

        var ownedBackends = new List<IBackend>();
        SqlGovernanceStore? store = null;
        try
        {
            if (options.NodeConfigPath is not null)
            {
                var config = ConfigLoader.LoadFile(options.NodeConfigPath);
                foreach (var backend in config.Backends)
                {
                    ownedBackends.Add(BackendFactory.Create(backend.Name, backend.Type, backend.Config, new BackendServices { LoggerFactory = loggerFactory }));
                }
            }

            var backends = ownedBackends.Concat(options.Backends).ToList();
            store = await SqlGovernanceStore.OpenAsync(target, password, cancellationToken).ConfigureAwait(false);
            log.LogInformation("control plane database {Database} ready", target.Redacted());
            foreach (var backend in backends)
            {
                await store.RegisterBackendAsync(backend.Name, backend.Type, cancellationToken).ConfigureAwait(false);
            }

            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(ControlPlaneHost).Assembly.GetName().Name });
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton(loggerFactory);
            builder.Services.AddProblemDetails();
            builder.Services.ConfigureHttpJsonOptions(o => Json.Configure(o.SerializerOptions));
            builder.Services.AddGrpc();
            // The embedding process owns SIGTERM and Ctrl-C; the default ConsoleLifetime would take them and stop only Kestrel.
            builder.Services.AddSingleton<IHostLifetime, OwnerStoppedLifetime>();
            var quotas = new QuotaMonitor(store, loggerFactory.CreateLogger<QuotaMonitor>());
            var ingestion = new Ingestion(store, quotas);
            builder.Services.AddSingleton(ingestion);
            builder.WebHost.ConfigureKestrel(k =>
            {
                // The REST endpoint first: its address is the first one Kestrel reports (BaseAddress).
                Listen(k, address, port, HttpProtocols.Http1AndHttp2);
                if (grpcListen is var (grpcAddress, grpcPort))
                {
                    Listen(k, grpcAddress, grpcPort, HttpProtocols.Http2);
                }
            });
            var app = builder.Build();

            var crawler = new StorageCrawler(store, backends, options.CrawlInterval, loggerFactory.CreateLogger<StorageCrawler>());
            var dashboard = Dashboard.Open(options.DashboardDirectory);
            dashboard?.UseStaticFiles(app);
            app.UseRouting();
            app.UseMiddleware<BearerAuthMiddleware>(validator);
            new GovernanceApi(store, ingestion, crawler, quotas, loggerFactory.CreateLogger<GovernanceApi>()).Map(app);
            app.MapGrpcService<IngestGrpcService>().WithMetadata(new RequireRolesAttribute(Roles.Agent));
            app.MapFallback(context => Dashboard.IsPageRequest(context.Request) && dashboard is not null
                ? dashboard.WriteIndexAsync(context)
                : Problems.Write(context, StatusCodes.Status404NotFound, "Not Found", Dashboard.IsPageRequest(context.Request) && dashboard is null
                    ? "the dashboard is not built into this control plane: run hack/dashboard.sh, then rebuild (see README, Dashboard)"
                    : $"no such endpoint: {context.Request.Method} {context.Request.Path}"));

            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
            var baseAddress = Reachable(bound[0]);
            var grpcBound = grpcListen is null ? null : Reachable(bound[^1]);
            if (dashboard is null)
            {
                log.LogInformation("no dashboard at {Directory} (hack/dashboard.sh builds it): serving the API only", options.DashboardDirectory);
            }

            log.LogInformation("control plane listening on {Address}{Grpc}, crawling {Count} backends every {Interval}", bound[0],
                grpcBound is null ? "" : $" (gRPC ingest on {bound[^1]})", backends.Count, options.CrawlInterval);
            return new ControlPlaneHost(app, store, crawler, quotas, ownedBackends, baseAddress, grpcBound, dashboard is not null);
        }
        catch
        {
            if (store is not null)
            {
                await store.DisposeAsync().ConfigureAwait(false);
            }

            foreach (var backend in ownedBackends)
            {
                await backend.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    private static void Listen(KestrelServerOptions kestrel, IPAddress? address, int port, HttpProtocols protocols)
    {
        if (address is null)
        {
            kestrel.ListenAnyIP(port, o => o.Protocols = protocols);
        }
        else
        {
            kestrel.Listen(address, port, o => o.Protocols = protocols);
        }
    }

    /// <summary>A bound address as a client dials it: the wildcard becomes loopback.</summary>
    private static Uri Reachable(string bound) =>
        new(bound.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal) + "/");

    /// <summary>Parses <c>[host]:port</c>: ":8090" is every address, "127.0.0.1:0" a free loopback port.</summary>
    /// <remarks>A null address means every address (IPv4 and IPv6).</remarks>
    public static (IPAddress? Address, int Port) ParseListenAddress(string listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        var colon = listen.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(listen[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 0 or > 65535)
        {
            throw new ArgumentException($"listen address '{listen}': expected [host]:port", nameof(listen));
        }

        var host = listen[..colon].Trim('[', ']');
        IPAddress? address = host.Length == 0 ? null
            : host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var parsed) ? parsed
            : throw new ArgumentException($"listen address '{listen}': host must be an IP address or localhost", nameof(listen));
        return (address, port);
    }

    /// <summary>Starts at once and never stops the host by itself: <see cref="DisposeAsync"/> does.</summary>
    private sealed class OwnerStoppedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        await _crawler.DisposeAsync().ConfigureAwait(false);
        _quotas.Dispose();
        foreach (var backend in _ownedBackends)
        {
            await backend.DisposeAsync().ConfigureAwait(false);
        }

        await _store.DisposeAsync().ConfigureAwait(false);
    }
}
