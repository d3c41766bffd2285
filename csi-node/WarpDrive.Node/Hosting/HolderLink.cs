using Microsoft.Extensions.Logging;
using WarpDrive.Fuse.Handover;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// An agent's link to its fd holder. If the holder restarts while the agent serves (its unit or container restarts it
/// at once), the link connects to the new one and hands it every mount's descriptors and journal again, so the mounts
/// are protected again within a second instead of only after the agent's own next start.
/// </summary>
public sealed class HolderLink : IDisposable
{
    private static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(1);

    private readonly string _socket;
    private readonly string? _mountPoint;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private FdHolderClient? _client;

    private HolderLink(string socket, string? mountPoint, ILogger logger)
    {
        _socket = socket;
        _mountPoint = mountPoint;
        _logger = logger;
    }

    /// <summary>Raised when a successor takes this agent's mount (or, for the CSI plugin, any of its mounts) over: the holder sent RELEASE.</summary>
    public event Action? ReleaseRequested;

    /// <summary>The holder connection now, or null while none is reachable.</summary>
    public FdHolderClient? Current => Volatile.Read(ref _client);

    /// <summary>Whether a holder has (and keeps) this agent's descriptors right now.</summary>
    public bool Holding => Current is { Closed.IsCompleted: false };

    /// <summary>
    /// The standalone agent's link for <paramref name="mountPoint"/>; null when no holder is configured. An unreachable
    /// holder is logged, and retried once serving.
    /// </summary>
    public static HolderLink? Connect(string? socket, string mountPoint, ILogger logger)
    {
        if (socket is null)
        {
            return null;
        }

        var link = new HolderLink(socket, mountPoint, logger);
        link.TryAttach();
        return link;
    }

    /// <summary>
    /// The CSI plugin's link: every mount of the plugin is held there. The holder is a container of the same pod that
    /// may start a moment after the agent, so its socket is awaited for up to <paramref name="patience"/>.
    /// </summary>
    public static async Task<HolderLink> ConnectForPluginAsync(string socket, TimeSpan patience, ILogger logger)
    {
        var link = new HolderLink(socket, mountPoint: null, logger);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(socket) && waited.Elapsed < patience)
        {
            await Task.Delay(100).ConfigureAwait(false);
        }

        link.TryAttach();
        return link;
    }

    /// <summary>Once serving: whenever the holder goes away, reconnect and hand <paramref name="tree"/>'s descriptors in again.</summary>
    public void KeepHolding(FuseTree tree) => KeepHolding(() => [tree]);

    /// <summary>Once serving: whenever the holder goes away, reconnect and hand in the descriptors of every tree <paramref name="trees"/> lists then.</summary>
    public void KeepHolding(Func<IReadOnlyCollection<FuseTree>> trees) => _ = Task.Run(() => KeepHoldingAsync(trees));

    public void Dispose()
    {
        _stopping.Cancel();
        Current?.Dispose();
        _stopping.Dispose();
    }

    private void TryAttach()
    {
        try
        {
            Attach(FdHolderClient.Connect(_socket, _logger));
        }
        catch (IOException e)
        {
            // Serving matters more than surviving a crash: mount without a holder, and say what is lost.
            _logger.LogWarning("no fd holder reachable ({Error}); serving without one until it is: a crash of this agent now would end its mounts", e.Message);
        }
    }

    private async Task KeepHoldingAsync(Func<IReadOnlyCollection<FuseTree>> trees)
    {
        var token = _stopping.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                if (Current is { } client)
                {
                    await client.Closed.WaitAsync(token).ConfigureAwait(false);
                    _logger.LogWarning("the fd holder at {Socket} went away; reconnecting (until then a crash of this agent would end its mounts)", _socket);
                }

                await Task.Delay(RetryEvery, token).ConfigureAwait(false);
                try
                {
                    var fresh = FdHolderClient.Connect(_socket, _logger);
                    foreach (var tree in trees())
                    {
                        fresh.Hold(tree.MountPoint, tree.Export());
                    }

                    Attach(fresh);
                    _logger.LogInformation("fd holder {Socket} keeps this agent's mounts alive again", _socket);
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
        client.ReleaseRequested += key =>
        {
            if (_mountPoint is null || key == FdHolderClient.Everything || key == FdHolderClient.Key(_mountPoint))
            {
                ReleaseRequested?.Invoke();
            }
        };
        Interlocked.Exchange(ref _client, client)?.Dispose();
    }
}
