using k8s.Models;

namespace WarpDrive.Operator.Install;

/// <summary>
/// The service-account tokens the kubelet requests for each pod that mounts a WarpDrive volume, one per audience,
/// and hands to the node plugin in <c>volume_context["csi.storage.k8s.io/serviceAccount.tokens"]</c>. The agent
/// picks the one whose audience its source's federation method expects (oidc_federation: <c>sts.amazonaws.com</c>,
/// workload_identity: <c>api://AzureADTokenExchange</c>, gcp_wif: the pool provider; each overridable by the
/// source's <c>auth.audience</c> setting).
/// </summary>
public static class CsiTokenRequests
{
    /// <summary>The audience AWS STS's AssumeRoleWithWebIdentity expects (EKS IRSA's).</summary>
    public const string AwsSts = "sts.amazonaws.com";

    /// <summary>The audience Entra ID expects of a federated credential (AKS workload identity's).</summary>
    public const string AzureAdTokenExchange = "api://AzureADTokenExchange";

    /// <summary>
    /// One hour, like the projected tokens of EKS and AKS workload identity. The API server's minimum is 10 minutes;
    /// the kubelet refreshes a token once 80% of its life has passed, and republish hands the new one over.
    /// </summary>
    public const int ExpirationSeconds = 3600;

    public static IReadOnlyList<string> DefaultAudiences { get; } = [AwsSts, AzureAdTokenExchange];

    /// <summary>One request per distinct audience, in the order given (the API server refuses duplicates).</summary>
    public static List<Storagev1TokenRequest> For(IEnumerable<string> audiences) =>
        audiences.Where(a => a.Length > 0).Distinct(StringComparer.Ordinal)
            .Select(a => new Storagev1TokenRequest { Audience = a, ExpirationSeconds = ExpirationSeconds })
            .ToList();

    /// <summary>The defaults plus the audiences a user adds (e.g. a GCP workload identity pool provider).</summary>
    public static IReadOnlyList<string> WithExtra(IEnumerable<string> extra) => [.. DefaultAudiences.Concat(extra).Distinct(StringComparer.Ordinal)];
}
