using Microsoft.Extensions.Logging;
using WarpDrive.Fuse.Handover;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// The standalone agent's link to its fd holder. If the holder restarts while the agent serves (its unit restarts it
/// at once), the link connects to the new one and hands it the mount's descriptors and journal again, so the mount is
/// protected again within a second instead of only after the agent's own next start.
/// </summary>
public sealed class HolderLink : IDisposable
{
    private static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(1);

    private readonly string _socket;
    private readonly string _mountPoint;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private FdHolderClient? _client;

    private HolderLink(string socket, string mountPoint, ILogger logger)
    {
        _socket = socket;
        _mountPoint = mountPoint;
        _logger = logger;
    }

    /// <summary>Raised when a successor takes the mount over (the holder sent RELEASE).</summary>
    public event Action? ReleaseRequested;

    /// <summary>The holder connection now, or null while none is reachable.</summary>
    public FdHolderClient? Current => Volatile.Read(ref _client);

    /// <summary>Whether a holder has (and keeps) this agent's descriptors right now.</summary>
    public bool Holding => Current is { Closed.IsCompleted: false };

    /// <summary>A link to the holder at <paramref name="socket"/>; null when no holder is configured. An unreachable holder is logged, and retried once serving.</summary>
    public static HolderLink? Connect(string? socket, string mountPoint, ILogger logger)
    {
        if (socket is null)
        {
            return null;
        }

        var link = new HolderLink(socket, mountPoint, logger);
        try
        {
            link.Attach(FdHolderClient.Connect(socket, logger));
        }
        catch (IOException e)
        {
            // Serving matters more than surviving a crash: mount without a holder, and say what is lost.
            logger.LogWarning("no fd holder reachable ({Error}); serving without one until it is: a crash of this agent now would end the mount", e.Message);
        }

        return link;
    }

    /// <summary>Once serving: whenever the holder goes away, reconnect and hand <paramref name="tree"/>'s descriptors in again.</summary>
    public void KeepHolding(FuseTree tree) => _ = Task.Run(() => KeepHoldingAsync(tree));

    public void Dispose()
    {
        _stopping.Cancel();
        Current?.Dispose();
        _stopping.Dispose();
    }

    private async Task KeepHoldingAsync(FuseTree tree)
    {
        var token = _stopping.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (Current is { } client)
                {
                    await client.Closed.WaitAsync(token).ConfigureAwait(false);
                    _logger.LogWarning("the fd holder at {Socket} went away; reconnecting (until then a crash of this agent would end {MountPoint})", _socket, _mountPoint);
                }

                await Task.Delay(RetryEvery, token).ConfigureAwait(false);
                try
                {
                    var fresh = FdHolderClient.Connect(_socket, _logger);
                    fresh.Hold(_mountPoint, tree.Export());
                    Attach(fresh);
                    _logger.LogInformation("fd holder {Socket} keeps {MountPoint} alive again", _socket, _mountPoint);
                }
                catch (IOException e)
                {
                    _logger.LogDebug("fd holder still unreachable: {Error}", e.Message);
                    Volatile.Write(ref _client, null);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void Attach(FdHolderClient client)
    {
        client.ReleaseRequested += mountPoint =>
        {
            if (mountPoint == FdHolderClient.Key(_mountPoint))
            {
                ReleaseRequested?.Invoke();
            }
        };
        Interlocked.Exchange(ref _client, client)?.Dispose();
    }
}
