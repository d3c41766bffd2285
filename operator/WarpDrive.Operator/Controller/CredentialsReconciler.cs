using Microsoft.Extensions.Logging;
using WarpDrive.Operator.Rendering;

namespace WarpDrive.Operator.Controller;

/// <summary>
/// Mirrors the Secrets that live sources reference into the one credentials Secret the DaemonSet mounts, and writes
/// it only when its data changed. Values go from the tenant's Secret to that Secret and nowhere else: not into logs
/// (only key counts are logged), events or status.
/// </summary>
public sealed class CredentialsReconciler(IClusterCache cache, IClusterClient client, OperatorOptions options, ILogger logger) : IReconciler
{
    private readonly CredentialsLayout layout = new(options);

    public async Task<ReconcileResult> ReconcileAsync(WorkKey key, CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken).ConfigureAwait(false);
        return ReconcileResult.Done;
    }

    /// <summary>Applies the Secret when its data differs from the cached one; true when it wrote.</summary>
    public async Task<bool> SyncAsync(CancellationToken cancellationToken)
    {
        var sources = NodeConfigPlanner.LiveSources(cache);
        var secrets = await NodeConfigPlanner.ReferencedSecretsAsync(client, sources, cancellationToken).ConfigureAwait(false);
        // Service-account token minting is not done yet (README "Not done"): no tokens are mirrored.
        var wanted = layout.BuildSecret(sources, secrets.Values.OfType<k8s.Models.V1Secret>(), []);
        var current = cache.OwnSecret(options.CredentialsSecretName);
        if (current is not null && SameData(current.Data, wanted.Data))
        {
            return false;
        }

        await client.ApplySecretAsync(wanted, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("applied {Secret} with {Keys} keys", options.CredentialsSecretName, wanted.Data.Count);
        return true;
    }

    private static bool SameData(IDictionary<string, byte[]>? current, IDictionary<string, byte[]> wanted)
    {
        current ??= new Dictionary<string, byte[]>();
        return current.Count == wanted.Count
            && wanted.All(e => current.TryGetValue(e.Key, out var value) && value.AsSpan().SequenceEqual(e.Value));
    }
}
