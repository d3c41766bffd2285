using System.Net;
using System.Net.Sockets;

namespace WarpDrive.ControlPlane.Tests;

/// <summary>
/// A throwaway PostgreSQL cluster run as the <c>postgres</c> OS user: initdb into a temp dir, listening on
/// 127.0.0.1 with a free port and its unix socket in the temp dir, password auth over TCP (so the control plane's
/// password-from-environment path is exercised). <see cref="DisposeAsync"/> stops it with pg_ctl and deletes the dir;
/// no other postgres process is ever touched.
/// </summary>
internal sealed class PostgresCluster : IAsyncDisposable
{
    public const string User = "postgres";
    private readonly string _root;
    private readonly string _bin;
    private int _databases;

    private PostgresCluster(string root, string bin, int port, string password)
    {
        _root = root;
        _bin = bin;
        Port = port;
        Password = password;
    }

    public int Port { get; }

    public string Password { get; }

    private string Data => Path.Combine(_root, "data");

    private string Socket => Path.Combine(_root, "sock");

    public static async Task<PostgresCluster> StartAsync()
    {
        var bin = Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
            .OrderDescending().FirstOrDefault() ?? throw new InvalidOperationException("PostgreSQL server binaries are missing: run hack/deps.sh");
        var root = Directory.CreateTempSubdirectory("wd-cp-pg-").FullName;
        var cluster = new PostgresCluster(root, bin, FreePort(), Convert.ToHexString(Guid.NewGuid().ToByteArray()));
        try
        {
            Directory.CreateDirectory(cluster.Socket);
            var passwordFile = Path.Combine(root, "pw");
            await File.WriteAllTextAsync(passwordFile, cluster.Password);
            await ProcessRunner.RunAsync("chown", "-R", "postgres:postgres", root);
            await cluster.AsPostgresAsync("initdb", "-D", cluster.Data, "-U", User, "--auth-local=trust", "--auth-host=scram-sha-256", $"--pwfile={passwordFile}", "-E", "UTF8", "--no-sync");
            File.Delete(passwordFile);
            await cluster.AsPostgresAsync("pg_ctl", "-D", cluster.Data, "-l", Path.Combine(root, "server.log"), "-w", "-t", "60",
                "-o", $"-h 127.0.0.1 -p {cluster.Port} -k {cluster.Socket} -c fsync=off", "start");
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Creates an empty database and returns its control plane URL (no password in it).</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"governance_{Interlocked.Increment(ref _databases)}";
        await AsPostgresAsync("psql", "-h", Socket, "-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", User, "-d", "postgres",
            "-v", "ON_ERROR_STOP=1", "-c", $"CREATE DATABASE {name}");
        return $"postgres://{User}@127.0.0.1:{Port}/{name}";
    }

    private Task<string> AsPostgresAsync(string program, params string[] arguments) =>
        ProcessRunner.RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_bin, program), .. arguments]);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(Path.Combine(Data, "postmaster.pid")))
            {
                await AsPostgresAsync("pg_ctl", "-D", Data, "-m", "fast", "-w", "-t", "60", "stop");
            }
        }
        finally
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
