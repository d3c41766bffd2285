using k8s;
using k8s.LeaderElection;
using k8s.LeaderElection.ResourceLock;
using Microsoft.Extensions.Logging;

namespace WarpDrive.Operator.Controller;

/// <summary>
/// Runs work only while this replica holds leadership. The <c>lead</c> callback of <see cref="RunAsync"/> gets a token
/// that is cancelled the moment leadership is lost; the method keeps competing for leadership until
/// <c>stop</c> is cancelled.
/// </summary>
public interface ILeaderElection
{
    Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken stop);
}

/// <summary>
/// Leader election on the Lease <c>warpdrive-operator-leader</c> in the operator's namespace with the client's
/// <see cref="LeaderElector"/>. After losing (or failing to talk to the API server) it waits a jittered retry period
/// before competing again, so replicas that lost together do not stampede the Lease.
/// </summary>
public sealed class LeaseLeaderElection(IKubernetes client, string ns, string identity, ILogger logger) : ILeaderElection
{
    public const string LeaseName = "warpdrive-operator-leader";

    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    public async Task RunAsync(Func<CancellationToken, Task> lead, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            using var term = CancellationTokenSource.CreateLinkedTokenSource(stop);
            Task leading = Task.CompletedTask;
            var config = new LeaderElectionConfig(new LeaseLock(client, ns, LeaseName, identity))
            {
                LeaseDuration = LeaseDuration,
                RenewDeadline = RenewDeadline,
                RetryPeriod = RetryPeriod,
            };
            using (var elector = new LeaderElector(config))
            {
                elector.OnStartedLeading += () =>
                {
                    logger.LogInformation("{Identity} is the leader: reconciling", identity);
                    leading = Task.Run(() => lead(term.Token), CancellationToken.None);
                };
                elector.OnStoppedLeading += () =>
                {
                    logger.LogWarning("{Identity} lost leadership: reconciling stopped", identity);
                    term.Cancel();
                };
                elector.OnNewLeader += leader => logger.LogInformation("leader is {Leader}", leader);
                elector.OnError += error => logger.LogWarning("leader election: {Error}", error.Message);
                try
                {
                    await elector.RunUntilLeadershipLostAsync(stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                catch (Exception error) when (!stop.IsCancellationRequested)
                {
                    logger.LogWarning("leader election failed: {Error}", error.Message);
                }
            }

            await term.CancelAsync().ConfigureAwait(false);
            await leading.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await Jitter.DelayAsync(RetryPeriod, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }
}

/// <summary>Delays of <c>period · [1, 2)</c>, so competing replicas spread out.</summary>
public static class Jitter
{
    public static TimeSpan Of(TimeSpan period) => period * (1 + Random.Shared.NextDouble());

    public static Task DelayAsync(TimeSpan period, CancellationToken cancellationToken) => Task.Delay(Of(period), cancellationToken);
}
