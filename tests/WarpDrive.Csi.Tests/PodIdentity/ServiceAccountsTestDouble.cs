using System.Collections.Concurrent;

namespace WarpDrive.Csi.Tests.PodIdentity;

/// <summary>
/// Test double of the Kubernetes API's service accounts (GET only, as the agent's RBAC allows), because no API server
/// runs in this test process; the e2e suite reads real ones on the kit's cluster. Counts lookups.
/// </summary>
internal sealed class ServiceAccountsTestDouble : IServiceAccountDirectory
{
    private readonly ConcurrentDictionary<(string Namespace, string Name), IReadOnlyDictionary<string, string>> _accounts = new();
    private int _lookups;

    public int Lookups => Volatile.Read(ref _lookups);

    public void Put(string ns, string name, Dictionary<string, string> annotations) => _accounts[(ns, name)] = annotations;

    public Task<IReadOnlyDictionary<string, string>> AnnotationsAsync(string ns, string name, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _lookups);
        return _accounts.TryGetValue((ns, name), out var annotations)
            ? Task.FromResult(annotations)
            : throw new ServiceAccountLookupException($"service account {ns}/{name} does not exist", notFound: true);
    }
}
