namespace WarpDrive.Csi;

/// <summary>
/// What a publish brings for a source that reads with the pod's own identity: the pod, its service-account token for
/// the source's audience, and its service account's annotations (which name the cloud identity).
/// </summary>
/// <remarks>The token is a credential: <see cref="ToString"/> names the pod only, and nothing logs the token.</remarks>
public sealed class PodCredentials(PodInfo pod, string token, IReadOnlyDictionary<string, string> annotations)
{
    public PodInfo Pod { get; } = pod;

    public string Token { get; } = token;

    public IReadOnlyDictionary<string, string> Annotations { get; } = annotations;

    public override string ToString() => $"pod {Pod.Namespace}/{Pod.Name} (service account {Pod.ServiceAccount})";
}

/// <summary>Reads a service account's annotations (the Kubernetes API in a cluster); the plugin asks once per new token.</summary>
public interface IServiceAccountDirectory
{
    /// <summary>The annotations of <paramref name="ns"/>/<paramref name="name"/>; throws <see cref="ServiceAccountLookupException"/> when it cannot tell.</summary>
    Task<IReadOnlyDictionary<string, string>> AnnotationsAsync(string ns, string name, CancellationToken cancellationToken);
}

/// <summary>A service account could not be read: missing (<see cref="NotFound"/>) or the API did not answer.</summary>
public sealed class ServiceAccountLookupException(string message, bool notFound, Exception? inner = null) : Exception(message, inner)
{
    public bool NotFound { get; } = notFound;
}

/// <summary>Where no Kubernetes API is at hand (standalone tools, tests of node identity): no annotations, so the source's own settings apply.</summary>
public sealed class NoServiceAccountDirectory : IServiceAccountDirectory
{
    public static NoServiceAccountDirectory Instance { get; } = new();

    public Task<IReadOnlyDictionary<string, string>> AnnotationsAsync(string ns, string name, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>());
}
