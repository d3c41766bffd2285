namespace WarpDrive.Auth.Pods;

/// <summary>The pod a tree reads for, as kubelet named it in NodePublishVolume (podInfoOnMount).</summary>
public sealed record PodIdentity(string Namespace, string Name, string Uid, string ServiceAccount)
{
    /// <summary>How logs and audit entries name it.</summary>
    public override string ToString() => $"pod {Namespace}/{Name} (service account {ServiceAccount})";
}

/// <summary>
/// What one publish (or republish) hands the agent for a pod: its token for the source's audience, and the annotations
/// of its service account, which choose the cloud identity the token is traded for.
/// </summary>
/// <remarks>The token is a credential: this type has no <c>ToString</c> that shows it, and nothing logs it.</remarks>
public sealed class PodCredentialGrant(PodIdentity pod, string token, IReadOnlyDictionary<string, string> annotations)
{
    public PodIdentity Pod { get; } = pod;

    public string Token { get; } = token;

    public IReadOnlyDictionary<string, string> Annotations { get; } = annotations;

    public override string ToString() => Pod.ToString();
}
