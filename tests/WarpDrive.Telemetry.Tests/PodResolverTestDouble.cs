using WarpDrive.Telemetry.Identity;

namespace WarpDrive.Telemetry.Tests;

/// <summary>Stands in for the kubelet/API server pod lookup, which cannot run here: a fixed table of pods by UID.</summary>
internal sealed class PodResolverTestDouble(IReadOnlyDictionary<string, PodIdentity> pods) : IPodResolver
{
    public int Lookups;

    public ValueTask<PodIdentity?> ResolveAsync(string podUid, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Lookups);
        return ValueTask.FromResult(pods.GetValueOrDefault(podUid));
    }
}
