using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace WarpDrive.Csi;

/// <summary>Wires the CSI services into an ASP.NET Core gRPC host.</summary>
public static class CsiServices
{
    /// <summary>
    /// Registers gRPC with the secret-stripping call log, and the plugin's own state. <paramref name="publications"/>
    /// is the host's, which also reads it (pods for access telemetry).
    /// </summary>
    public static IServiceCollection AddCsiPlugin(this IServiceCollection services, NodeIdentity identity, SourceMounts sources, IMounter mounter, IReadiness readiness, Publications publications,
        IServiceAccountDirectory? serviceAccounts = null)
    {
        services.AddGrpc(options => options.Interceptors.Add<CallLoggingInterceptor>());
        services.AddSingleton(identity);
        services.AddSingleton(sources);
        services.AddSingleton(mounter);
        services.AddSingleton(readiness);
        services.AddSingleton(publications);
        services.AddSingleton(serviceAccounts ?? NoServiceAccountDirectory.Instance);
        services.AddSingleton<VolumeLocks>();
        return services;
    }

    public static IEndpointRouteBuilder MapCsiPlugin(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<IdentityService>();
        endpoints.MapGrpcService<ControllerService>();
        endpoints.MapGrpcService<NodeService>();
        return endpoints;
    }
}
