using System.Net;
using System.Net.Sockets;

namespace WarpDrive.Bench.Targets;

/// <summary>warpdrive-node serving the dataset from one backend (local, s3 or azureblob) with its default cache settings.</summary>
internal sealed class WarpDriveTarget : MountTarget
{
    private readonly string _backendYaml;
    private readonly int _metricsPort = FreePort();
    private readonly int _restPort = FreePort();

    private WarpDriveTarget(string name, string workDirectory, string backendYaml, int? rttMs = null)
        : base(name, workDirectory, rttMs) => _backendYaml = backendYaml;

    public override string Root => Path.Combine(MountPoint, "data");

    public override bool IsWarpDrive => true;

    /// <summary>Counters from the agent's /metrics, or null when it serves none (yet).</summary>
    public IReadOnlyDictionary<string, double>? ScrapeMetrics() => AgentMetrics.Scrape(_metricsPort);

    public static WarpDriveTarget Local(string workDirectory, string sourceRoot) => new("warpdrive-local", workDirectory, $"""
            type: local
            config:
              root: {sourceRoot}
        """);

    public static WarpDriveTarget S3(string workDirectory, string endpoint, int rttMs) => new("warpdrive-s3", workDirectory, $"""
            type: s3
            config:
              bucket: {Remotes.Bucket}
              endpoint: {endpoint}
              path_style: true
            auth:
              method: static
              access_key_env: {Remotes.S3AccessKeyVariable}
              secret_key_env: {Remotes.S3SecretKeyVariable}
        """, rttMs);

    public static WarpDriveTarget Azure(string workDirectory, string endpoint, int rttMs) => new("warpdrive-azure", workDirectory, $"""
            type: azureblob
            config:
              account: {Remotes.AzureAccount}
              container: {Remotes.Container}
              endpoint: {endpoint}/{Remotes.AzureAccount}
            auth:
              method: static
              account_key_env: {Remotes.AzureKeyVariable}
        """, rttMs);

    protected override ChildProcess Start()
    {
        var configPath = Path.Combine(Directory, "config.yaml");
        // Everything but paths and ports is left at its default: the benchmark measures what users get.
        File.WriteAllText(configPath, $"""
            mount_point: {MountPoint}
            cache:
              path: {CacheDirectory}
            metrics:
              addr: "127.0.0.1:{_metricsPort}"
            control_plane:
              rest_addr: "127.0.0.1:{_restPort}"
            backends:
              - name: bench
                mount_path: /data
            {_backendYaml}
            """);
        var agent = Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll");
        return ChildProcess.Start(Name, "dotnet", [agent, "mount", "--config", configPath, "--log-format", "text", "--log-level", "Warning"], LogPath);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
