using System.Net.Sockets;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PluginRegistration.V1;

namespace WarpDrive.Csi;

/// <summary>
/// Where kubelet's plugin watcher finds the plugin: <see cref="RegistrationDirectory"/> is kubelet's
/// <c>plugins_registry</c> as this process sees it; <see cref="KubeletEndpoint"/> is the CSI socket as kubelet
/// sees it (a host path, which inside a pod differs from the path the plugin listens on).
/// </summary>
public sealed record RegistrationOptions(string RegistrationDirectory, string KubeletEndpoint)
{
    /// <summary>The default CSI socket on the host: kubelet's plugins directory, one folder per driver.</summary>
    public const string DefaultKubeletEndpoint = "/var/lib/kubelet/plugins/" + CsiDriver.Name + "/csi.sock";

    /// <summary>The name node-driver-registrar gives it, so either registers the driver the same way.</summary>
    public string SocketPath => Path.Combine(RegistrationDirectory, CsiDriver.Name + "-reg.sock");
}

/// <summary>
/// The kubelet plugin registration service (pluginregistration.v1), served on its own unix socket in kubelet's
/// plugins_registry directory, so the node pod needs no node-driver-registrar sidecar. kubelet's watcher sees the
/// socket appear, calls GetInfo, then dials <see cref="RegistrationOptions.KubeletEndpoint"/> (NodeGetInfo) and
/// reports the outcome with NotifyRegistrationStatus. Removing the socket deregisters the driver, so it is removed
/// on a clean stop; a socket left by a killed plugin is replaced at start.
/// </summary>
public sealed class KubeletRegistration : IAsyncDisposable
{
    private readonly WebApplication _server;
    private readonly string _socketPath;
    private readonly ILogger _logger;

    private KubeletRegistration(WebApplication server, string socketPath, RegistrationStatusBoard status, ILogger logger)
    {
        _server = server;
        _socketPath = socketPath;
        Status = status;
        _logger = logger;
    }

    /// <summary>What kubelet last said about the registration (null until it has).</summary>
    public RegistrationStatusBoard Status { get; }

    public static async Task<KubeletRegistration> StartAsync(RegistrationOptions options, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        var logger = loggers.CreateLogger<KubeletRegistration>();
        Directory.CreateDirectory(options.RegistrationDirectory);
        await ReplaceStaleSocketAsync(options.SocketPath, logger).ConfigureAwait(false);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggers);
        builder.Services.AddGrpc();
        var status = new RegistrationStatusBoard();
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(status);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenUnixSocket(options.SocketPath, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            // The kubelet's plugin watcher sends the socket path as :authority, which Kestrel refuses: see the rewriter.
            listen.Use(Http2AuthorityRewriter.Wrap);
        }));
        var app = builder.Build();
        app.MapGrpcService<RegistrationService>();
        await app.StartAsync().ConfigureAwait(false);
        logger.LogInformation("kubelet registration served on {Socket} (CSI endpoint for kubelet: {Endpoint})", options.SocketPath, options.KubeletEndpoint);
        return new KubeletRegistration(app, options.SocketPath, status, logger);
    }

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync().ConfigureAwait(false);
        await _server.DisposeAsync().ConfigureAwait(false);
        try
        {
            File.Delete(_socketPath); // kubelet deregisters the driver when its socket goes
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("could not remove the registration socket {Socket}: {Error}", _socketPath, e.Message);
        }
    }

    /// <summary>
    /// A socket file nobody answers on was left by a plugin that died (kill -9, OOM): remove it, or binding fails.
    /// One somebody answers on belongs to a live plugin: refuse to start rather than take its registration.
    /// </summary>
    private static async Task ReplaceStaleSocketAsync(string path, ILogger logger)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                await probe.ConnectAsync(new UnixDomainSocketEndPoint(path)).ConfigureAwait(false);
                throw new IOException($"--registration-dir: another process is serving {path}; is a second plugin running on this node?");
            }
            catch (SocketException)
            {
                // Nobody listening: stale.
            }
        }

        logger.LogWarning("replacing the stale registration socket {Socket}", path);
        File.Delete(path);
    }
}

/// <summary>kubelet's last word on the registration, for logs and tests.</summary>
public sealed class RegistrationStatusBoard
{
    private volatile RegistrationStatus? _last;

    /// <summary>Null until kubelet has called NotifyRegistrationStatus.</summary>
    public RegistrationStatus? Last => _last;

    internal void Record(RegistrationStatus status) => _last = status;
}

/// <summary>The gRPC side of <see cref="KubeletRegistration"/>: answers kubelet's two calls.</summary>
public sealed class RegistrationService(RegistrationOptions options, RegistrationStatusBoard status, ILogger<RegistrationService> logger) : Registration.RegistrationBase
{
    /// <summary>kubelet's plugin type for CSI drivers.</summary>
    public const string CsiPluginType = "CSIPlugin";

    /// <summary>The CSI versions kubelet may speak to us; kubelet picks the highest it supports.</summary>
    public static readonly string[] SupportedVersions = ["1.0.0"];

    public override Task<PluginInfo> GetInfo(InfoRequest request, ServerCallContext context)
    {
        logger.LogInformation("kubelet asked for the plugin info; answering {Name} at {Endpoint}", CsiDriver.Name, options.KubeletEndpoint);
        return Task.FromResult(new PluginInfo
        {
            Type = CsiPluginType,
            Name = CsiDriver.Name,
            Endpoint = options.KubeletEndpoint,
            SupportedVersions = { SupportedVersions },
        });
    }

    public override Task<RegistrationStatusResponse> NotifyRegistrationStatus(RegistrationStatus request, ServerCallContext context)
    {
        status.Record(request);
        if (request.PluginRegistered)
        {
            logger.LogInformation("kubelet registered {Name}", CsiDriver.Name);
        }
        else
        {
            // kubelet retries only when the socket is created again: a restart of the plugin (the liveness probe or
            // an operator) does that. The error names what kubelet disliked, e.g. an endpoint it cannot dial.
            logger.LogError("kubelet could not register {Name}: {Error}", CsiDriver.Name, request.Error);
        }

        return Task.FromResult(new RegistrationStatusResponse());
    }
}
