using System.Net;
using System.Net.Sockets;

namespace WarpDrive.Bench.S3;

/// <summary>
/// The S3 side of a suite run: one <c>warpdrive-bench s3-server</c> child serving the dataset directory, reached
/// directly for the 0 ms figures, and one <c>warpdrive-bench proxy</c> child in front of it per other round trip.
/// Started after the dataset exists (the responder indexes the tree once) and stopped by PID on dispose.
/// </summary>
internal sealed class S3Remote : IDisposable
{
    private readonly List<ChildProcess> _processes = [];

    private S3Remote()
    {
    }

    /// <summary>Round trip in ms → endpoint URL the clients use.</summary>
    public Dictionary<int, string> Endpoints { get; } = [];

    public static S3Remote Start(string workDirectory, string root, IReadOnlyList<int> rttsMs)
    {
        var remote = new S3Remote();
        try
        {
            var bench = Path.Combine(AppContext.BaseDirectory, "warpdrive-bench.dll");
            var serverPort = FreePort();
            remote.Add(ChildProcess.Start("s3-server", "dotnet", [bench, "s3-server", "--root", root, "--listen-port", $"{serverPort}"], Path.Combine(workDirectory, "s3-server.log")), serverPort);
            foreach (var rtt in rttsMs.Distinct())
            {
                if (rtt == 0)
                {
                    remote.Endpoints[0] = $"http://127.0.0.1:{serverPort}";
                    continue;
                }

                var proxyPort = FreePort();
                remote.Add(ChildProcess.Start($"proxy-{rtt}ms", "dotnet", [bench, "proxy", "--listen-port", $"{proxyPort}", "--upstream-port", $"{serverPort}", "--latency-ms", $"{rtt}"],
                    Path.Combine(workDirectory, $"proxy-s3-{rtt}ms.log")), proxyPort);
                remote.Endpoints[rtt] = $"http://127.0.0.1:{proxyPort}";
            }

            return remote;
        }
        catch
        {
            remote.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var process in _processes)
        {
            process.Dispose();
        }

        _processes.Clear();
    }

    private void Add(ChildProcess process, int port)
    {
        _processes.Add(process);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (!process.HasExited && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
            catch (SocketException)
            {
                throw new InvalidOperationException($"{process.Name} did not listen on 127.0.0.1:{port} (see its log in the work directory)");
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
