using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace WarpDrive.Bench;

/// <summary>
/// A TCP proxy on loopback that makes a local server behave like a remote one: every chunk read from either side
/// is forwarded only after half the configured round-trip time, so each request/response exchange costs one RTT
/// more. Chunks are queued, not serialised on the delay, so a stream keeps flowing (latency is added, bandwidth is
/// not limited). Used because this kernel has no netem.
/// </summary>
internal sealed class LatencyProxy(int listenPort, int upstreamPort, TimeSpan roundTrip)
{
    private const int ChunkBytes = 64 * 1024;
    private readonly TimeSpan _oneWay = roundTrip / 2;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, listenPort);
        listener.Start(512);
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client, cancellationToken), CancellationToken.None);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        using (client)
        using (var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            try
            {
                client.NoDelay = true;
                upstream.NoDelay = true;
                await upstream.ConnectAsync(new IPEndPoint(IPAddress.Loopback, upstreamPort), cancellationToken).ConfigureAwait(false);
                await Task.WhenAll(PumpAsync(client, upstream), PumpAsync(upstream, client)).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                // The peer went away: closing both sockets (the usings) is all there is to do.
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Forwards <paramref name="from"/> to <paramref name="to"/> with the one-way delay; half-closes when the source ends.</summary>
    private async Task PumpAsync(Socket from, Socket to)
    {
        var queue = Channel.CreateUnbounded<(byte[] Buffer, int Length, long DueTicks)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var sender = SendAsync(queue.Reader, from, to);
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
                var read = await from.ReceiveAsync(buffer, SocketFlags.None).ConfigureAwait(false);
                if (read == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                queue.Writer.TryWrite((buffer, read, Environment.TickCount64 + (long)_oneWay.TotalMilliseconds));
            }
        }
        catch (SocketException)
        {
            to.Close();
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            queue.Writer.Complete();
        }

        await sender.ConfigureAwait(false);
    }

    private static async Task SendAsync(ChannelReader<(byte[] Buffer, int Length, long DueTicks)> queue, Socket from, Socket to)
    {
        try
        {
            await foreach (var (buffer, length, due) in queue.ReadAllAsync().ConfigureAwait(false))
            {
                var wait = due - Environment.TickCount64;
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait)).ConfigureAwait(false);
                }

                await to.SendAsync(buffer.AsMemory(0, length), SocketFlags.None).ConfigureAwait(false);
                ArrayPool<byte>.Shared.Return(buffer);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            from.Close();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
