using WarpDrive.Csi;
using WarpDrive.Node.Observability;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// Unhealthy once kubelet has refused the registration. kubelet tries again only when the registration socket
/// appears again, so the liveness probe restarting the plugin is the retry (node-driver-registrar exits for the
/// same reason). Healthy while kubelet has not answered yet, and when the plugin does not register itself.
/// </summary>
public sealed class KubeletRegistrationCheck(Func<RegistrationStatusBoard?> status) : IHealthCheck
{
    public string Name => "kubelet_registration";

    public string? Problem() =>
        status()?.Last is { PluginRegistered: false } refused ? $"kubelet refused to register {CsiDriver.Name}: {refused.Error}" : null;
}
