using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.ControlPlane.Auth;

namespace WarpDrive.ControlPlane;

/// <summary>How to run the control plane (what <c>warpdrive-ctl serve</c> fills from its flags and the node config).</summary>
public sealed class ControlPlaneOptions
{
    /// <summary><c>[host]:port</c>; an empty host listens on every address. From control_plane.rest_addr.</summary>
    public string ListenAddress { get; init; } = ":8090";

    /// <summary>
    /// <c>[host]:port</c> of the gRPC ingest endpoint (HTTP/2 without TLS, so a port of its own: cleartext cannot
    /// negotiate HTTP/1.1 and HTTP/2 on one port). Null: no gRPC endpoint.
    /// </summary>
    public string? GrpcListenAddress { get; init; }

    /// <summary><c>sqlite:///path/file.db</c> or <c>postgres://user@host:port/db</c> (never with a password).</summary>
    public string Database { get; init; } = "sqlite:///var/lib/warpdrive/control-plane.db";

    /// <summary>Name of the environment variable holding the PostgreSQL password (unused for SQLite).</summary>
    public string? DatabasePasswordEnvironmentVariable { get; init; }

    /// <summary>YAML list of {token_sha256 | token_file, name, role}. Required unless <see cref="TokenValidator"/> is set.</summary>
    public string? TokensFile { get; init; }

    /// <summary>Replaces the tokens file (e.g. a Kubernetes TokenReview validator in the operator).</summary>
    public ITokenValidator? TokenValidator { get; init; }

    /// <summary>From control_plane.storage_crawl_interval.</summary>
    public TimeSpan CrawlInterval { get; init; } = TimeSpan.FromHours(24);

    /// <summary>A node config file whose backends are crawled (loaded with the agent's own ConfigLoader).</summary>
    public string? NodeConfigPath { get; init; }

    /// <summary>Backends the embedding process already holds; crawled as well, and not disposed by the host.</summary>
    public IReadOnlyList<IBackend> Backends { get; init; } = [];

    /// <summary>
    /// The dashboard's built files (dashboard/dist, copied beside the assembly as <c>dashboard/</c> by the .NET build),
    /// served at <c>/</c>. When it holds no index.html the API runs alone and <c>/</c> answers a 404 saying how to build it.
    /// </summary>
    public string DashboardDirectory { get; init; } = Path.Combine(AppContext.BaseDirectory, "dashboard");

    public ILoggerFactory? LoggerFactory { get; init; }
}
