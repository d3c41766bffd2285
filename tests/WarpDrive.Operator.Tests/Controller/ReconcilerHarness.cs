using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Rendering;

namespace WarpDrive.Operator.Tests.Controller;

/// <summary>The real reconcilers wired to an <see cref="InMemoryCluster"/>, a fake clock and recorded events.</summary>
internal sealed class ReconcilerHarness
{
    public ReconcilerHarness(OperatorOptions? options = null)
    {
        Options = options ?? new() { Namespace = "warpdrive-system" };
        var planner = new NodeConfigPlanner(Cluster, Cluster, Options);
        NodeConfigs = new NodeConfigReconciler(planner, Cluster, Cluster, NullLogger.Instance);
        Credentials = new CredentialsReconciler(Cluster, Cluster, Options, NullLogger.Instance);
        Sources = new SourceReconciler(Cluster, Cluster, Events, planner, NodeConfigs, Credentials, Time, NullLogger.Instance);
        Warms = new WarmReconciler(Cluster, Cluster, Events, Time, NullLogger.Instance);
    }

    public OperatorOptions Options { get; }

    public InMemoryCluster Cluster { get; } = new();

    public EventRecorderTestDouble Events { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));

    public NodeConfigReconciler NodeConfigs { get; }

    public CredentialsReconciler Credentials { get; }

    public SourceReconciler Sources { get; }

    public WarmReconciler Warms { get; }

    public Task<ReconcileResult> ReconcileSource(string ns, string name) => Sources.ReconcileAsync(WorkKey.Source(ns, name), CancellationToken.None);

    public Task<ReconcileResult> ReconcileWarm(string ns, string name) => Warms.ReconcileAsync(WorkKey.Warm(ns, name), CancellationToken.None);
}
