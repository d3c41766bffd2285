using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Grpc.Net.Client;
using NUnit.Framework;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// A real <c>warpdrive-node csi</c> process and a gRPC channel to its socket, as kubelet dials it. Stops it by its
/// PID (SIGTERM, or SIGKILL to play a crash); disposing kills it if it still runs. Collects its stderr.
/// </summary>
public sealed partial class PluginProcess : IDisposable
{
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly GrpcChannel _channel;

    private PluginProcess(Process process, string socket)
    {
        _process = process;
        process.ErrorDataReceived += (_, e) =>
        {
            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        _channel = Channel(socket);
        Node = new global::Csi.V1.Node.NodeClient(_channel);
    }

    public global::Csi.V1.Node.NodeClient Node { get; }

    public int Id => _process.Id;

    public int ExitCode => _process.ExitCode;

    public string Stderr
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts <c>warpdrive-node csi --endpoint unix://SOCKET ARGS</c> and waits (bounded) until it answers NodeGetInfo.</summary>
    public static async Task<PluginProcess> StartAsync(string socket, params string[] args)
    {
        var plugin = Launch(socket, args);
        try
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    await plugin.Node.NodeGetInfoAsync(new global::Csi.V1.NodeGetInfoRequest());
                    return plugin;
                }
                catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.Unavailable && attempt < 300 && !plugin._process.HasExited)
                {
                    await Task.Delay(100);
                }
            }
        }
        catch
        {
            TestContext.Out.WriteLine(plugin.Stderr);
            plugin.Dispose();
            throw;
        }
    }

    /// <summary>Starts <c>warpdrive-node csi --endpoint unix://SOCKET ARGS</c> without waiting for it to serve.</summary>
    public static PluginProcess Launch(string socket, params string[] args) =>
        Run(["csi", "--endpoint", $"unix://{socket}", "--log-format", "text", .. args], socket);

    /// <summary>Starts <c>warpdrive-node ARGS</c> (another command, e.g. fd-holder); <see cref="Node"/> dials <paramref name="socket"/> if given.</summary>
    public static PluginProcess Run(string[] args, string socket = "/nonexistent")
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardError = true, Environment = { ["NODE_NAME"] = "node-1" } };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return new PluginProcess(Process.Start(start)!, socket);
    }

    /// <summary>Waits (bounded) for the process to exit by itself.</summary>
    public bool WaitForExit(TimeSpan patience)
    {
        var exited = _process.WaitForExit(patience);
        if (exited)
        {
            _process.WaitForExit(); // drains the stderr reader
        }

        return exited;
    }

    /// <summary>Sends <paramref name="signal"/> and waits (bounded) for the exit.</summary>
    public bool Stop(int signal)
    {
        if (Kill(_process.Id, signal) != 0)
        {
            return false;
        }

        return WaitForExit(TimeSpan.FromSeconds(60));
    }

    public void Dispose()
    {
        _channel.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }

        _process.Dispose();
    }

    /// <summary>A gRPC channel over the unix socket at <paramref name="socket"/>.</summary>
    public static GrpcChannel Channel(string socket) => GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await client.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                    return new NetworkStream(client, ownsSocket: true);
                }
                catch
                {
                    client.Dispose();
                    throw;
                }
            },
        },
    });

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
