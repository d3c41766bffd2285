using WarpDrive.Config;

namespace WarpDrive.Auth.Pods;

/// <summary>
/// How each cloud's own Kubernetes integration reads a service account, so a user's existing setup works unchanged:
/// which annotation names the cloud identity (the token's audience is <see cref="AuthSources.AudienceOf"/>). A setting of the source is the
/// fallback when the annotation is absent.
/// </summary>
public static class ServiceAccountConventions
{
    /// <summary>EKS IRSA: the IAM role the account's tokens may assume.</summary>
    public const string AwsRoleArn = "eks.amazonaws.com/role-arn";

    /// <summary>AKS workload identity: the Entra application or managed identity, and optionally its tenant.</summary>
    public const string AzureClientId = "azure.workload.identity/client-id";
    public const string AzureTenantId = "azure.workload.identity/tenant-id";

    /// <summary>GKE workload identity: the Google service account the account acts as (impersonated after the exchange).</summary>
    public const string GcpServiceAccount = "iam.gke.io/gcp-service-account";

    /// <summary>
    /// The source's auth settings for one pod: its token from <paramref name="tokenFile"/>, the identity its
    /// annotations name, and a session name that says which pod's account asked.
    /// </summary>
    public static Dictionary<string, string> SettingsFor(BackendConfig source, PodCredentialGrant grant, string tokenFile)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(grant);
        var settings = new Dictionary<string, string>(source.Auth.Settings, StringComparer.Ordinal)
        {
            ["token_file"] = tokenFile,
        };
        settings.Remove("subject_source"); // the subject is the pod's token, never the node's managed identity
        void FromAnnotation(string annotation, string setting)
        {
            if (grant.Annotations.TryGetValue(annotation, out var value) && !string.IsNullOrWhiteSpace(value))
            {
                settings[setting] = value.Trim();
            }
        }

        switch (source.Auth.Method)
        {
            case AuthMethods.OidcFederation:
                FromAnnotation(AwsRoleArn, "role_arn");
                settings["role_session_name"] = SessionName(grant.Pod);
                break;
            case AuthMethods.WorkloadIdentity:
                FromAnnotation(AzureClientId, "client_id");
                FromAnnotation(AzureTenantId, "tenant_id");
                settings.Remove("client_id_env");
                settings.Remove("client_id_file");
                break;
            case AuthMethods.GcpWif:
                FromAnnotation(GcpServiceAccount, "service_account");
                break;
            default:
                throw new ConfigException("auth.source", $"{source.Auth.Method} cannot read with a pod's identity");
        }

        return settings;
    }

    /// <summary>
    /// AWS role session names are at most 64 of <c>[\w+=,.@-]</c>; namespace and account names are DNS labels, so
    /// only the length needs care. CloudTrail shows it, which makes every pod's reads traceable to its account.
    /// </summary>
    public static string SessionName(PodIdentity pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var name = $"warpdrive-{pod.Namespace}-{pod.ServiceAccount}";
        return name.Length <= 64 ? name : name[..64];
    }
}
