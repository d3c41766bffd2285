namespace WarpDrive.Operator.Rendering;

/// <summary>
/// Where the operator and the node agents live and what every node's cache looks like. One instance per operator
/// process, from its command line; the same values are baked into the install manifests so both sides agree.
/// </summary>
public sealed record OperatorOptions
{
    /// <summary>Namespace of the operator, the node DaemonSet, the per-node ConfigMaps and the credentials Secret.</summary>
    public string Namespace { get; init; } = "warpdrive-system";

    /// <summary>The agent's state directory on the host; mounts and sockets live below it.</summary>
    public string StateDir { get; init; } = "/var/lib/warpdrive";

    /// <summary>Where the agent mounts its tree: every source is a directory <c>/&lt;namespace&gt;/&lt;name&gt;</c> below it.</summary>
    public string MountPoint => StateDir + "/mounts";

    /// <summary>Host directory of the block cache (a hostPath in the DaemonSet; put it on NVMe).</summary>
    public string CachePath { get; init; } = "/var/lib/warpdrive/cache";

    /// <summary>Cache size in the agent's size syntax (binary units).</summary>
    public string CacheMaxSize { get; init; } = "50GB";

    public string CacheBlockSize { get; init; } = "4MB";

    /// <summary>Directory in the agent container where the credentials Secret is mounted.</summary>
    public string SecretsDir { get; init; } = "/var/run/warpdrive/secrets";

    /// <summary>The one Secret in <see cref="Namespace"/> holding the credentials every node may need.</summary>
    public string CredentialsSecretName { get; init; } = "warpdrive-credentials";

    /// <summary>
    /// Whether the operator serves the governance control plane; then every node config sends access telemetry to it
    /// (<see cref="ControlPlaneUrl"/>, authenticated with the projected token at <see cref="ControlPlaneTokenFile"/>).
    /// </summary>
    public bool ControlPlaneEnabled { get; init; }

    /// <summary>The Service in <see cref="Namespace"/> in front of the control plane (the chart's and the manifests').</summary>
    public const string ControlPlaneServiceName = "warpdrive-control-plane";

    /// <summary>The Service's port, whatever the control plane listens on.</summary>
    public const int ControlPlaneServicePort = 8090;

    /// <summary>The Service by its cluster DNS name: the fallback while its ClusterIP is not known.</summary>
    public string ControlPlaneUrl => $"http://{ControlPlaneServiceName}.{Namespace}.svc:{ControlPlaneServicePort}";

    /// <summary>
    /// The address node agents send telemetry to: the Service's ClusterIP when known (kube-proxy routes it from any
    /// pod, with or without cluster DNS), else its DNS name (<see cref="ControlPlaneUrl"/>).
    /// </summary>
    public string ControlPlaneUrlFor(string? clusterIp) =>
        clusterIp is { Length: > 0 } ip && ip != "None" && System.Net.IPAddress.TryParse(ip, out var address)
            ? $"http://{(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip)}:{ControlPlaneServicePort}"
            : ControlPlaneUrl;

    /// <summary>Directory of the node agent's projected service-account token for the control plane's audience.</summary>
    public string ControlPlaneTokenDir { get; init; } = "/var/run/secrets/warpdrive/control-plane";

    /// <summary>The token file itself: the kubelet rotates it in place and the agent re-reads it for every batch.</summary>
    public string ControlPlaneTokenFile => ControlPlaneTokenDir + "/token";
}
