using k8s.Models;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Rendering;

/// <summary>
/// How secrets reach the node agents without ever being written into a node config. The operator mirrors every
/// Secret a source references, and every service-account token it mints for federated auth, into one Secret in its
/// own namespace; the DaemonSet mounts that Secret at <see cref="OperatorOptions.SecretsDir"/> and the node config
/// names the files. Secret volume keys cannot hold '/', so the path is flattened with '_', which can appear in
/// neither a namespace nor an object name: <c>secret_&lt;namespace&gt;_&lt;secret&gt;_&lt;key&gt;</c> and
/// <c>token_&lt;namespace&gt;_&lt;serviceaccount&gt;</c> are unambiguous.
/// </summary>
public sealed class CredentialsLayout(OperatorOptions options)
{
    public static string SecretKey(string ns, string secretName, string key) => $"secret_{ns}_{secretName}_{key}";

    public static string TokenKey(string ns, string serviceAccount) => $"token_{ns}_{serviceAccount}";

    public string SecretFile(string ns, string secretName, string key) => $"{options.SecretsDir}/{SecretKey(ns, secretName, key)}";

    public string TokenFile(string ns, string serviceAccount) => $"{options.SecretsDir}/{TokenKey(ns, serviceAccount)}";

    /// <summary>
    /// The auth setting that points the agent at a secret key's file: key <c>client_secret</c> becomes
    /// <c>client_secret_file</c>; a key already ending in <c>_file</c> is kept.
    /// </summary>
    public static string FileSetting(string secretKey)
    {
        var setting = secretKey.ToLowerInvariant().Replace('-', '_').Replace('.', '_');
        return setting.EndsWith("_file", StringComparison.Ordinal) ? setting : setting + "_file";
    }

    /// <summary>
    /// Auth methods that federate the token of the source's own service account (minted by the operator). A pod
    /// identity source has none: the kubelet hands each pod's token to the agent in NodePublishVolume.
    /// </summary>
    public static bool UsesServiceAccountToken(AuthSpec auth) =>
        auth.ServiceAccountName is { Length: > 0 }
        && !ReadsWithPodIdentity(auth)
        && auth.Method is AuthMethods.WorkloadIdentity or AuthMethods.OidcFederation or AuthMethods.GcpWif;

    /// <summary><c>spec.auth.source: pod</c>: each mounting pod reads with its own service account's federated identity.</summary>
    public static bool ReadsWithPodIdentity(AuthSpec? auth) => auth?.Source == AuthSources.Pod;

    /// <summary>
    /// The mirrored credentials Secret: the data of every Secret some source references (and only those), plus the
    /// minted tokens. Pure; the caller lists the Secrets and mints the tokens.
    /// </summary>
    public V1Secret BuildSecret(IEnumerable<WarpDataSource> sources, IEnumerable<V1Secret> secrets, IEnumerable<ServiceAccountToken> tokens)
    {
        var byName = secrets.ToDictionary(s => (s.Metadata.NamespaceProperty, s.Metadata.Name));
        var data = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var source in sources)
        {
            if (source.Spec.Auth?.SecretRef is not { } reference)
            {
                continue;
            }

            var ns = SourceNames.Namespace(source);
            if (!byName.TryGetValue((ns, reference.Name), out var secret) || secret.Data is null)
            {
                continue;
            }

            foreach (var (key, value) in secret.Data)
            {
                data[SecretKey(ns, reference.Name, key)] = value;
            }
        }

        foreach (var token in tokens)
        {
            data[TokenKey(token.Namespace, token.ServiceAccount)] = System.Text.Encoding.UTF8.GetBytes(token.Token);
        }

        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Type = "Opaque",
            Metadata = new V1ObjectMeta
            {
                Name = options.CredentialsSecretName,
                NamespaceProperty = options.Namespace,
                Labels = ManagedLabels.For("credentials"),
            },
            Data = new Dictionary<string, byte[]>(data),
        };
    }
}

/// <summary>A token minted with the TokenRequest API for a source's service account. <see cref="ToString"/> hides the token.</summary>
public sealed record ServiceAccountToken(string Namespace, string ServiceAccount, string Token)
{
    public override string ToString() => $"token for {Namespace}/{ServiceAccount}";
}

/// <summary>Labels on everything the operator creates, so it can find (and garbage-collect) its own objects.</summary>
public static class ManagedLabels
{
    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string Component = "app.kubernetes.io/component";
    public const string PartOf = "app.kubernetes.io/part-of";
    public const string SourceNamespace = "warpdrive.io/source-namespace";
    public const string SourceName = "warpdrive.io/source-name";

    public static Dictionary<string, string> For(string component) => new()
    {
        [ManagedBy] = WarpDriveApi.FieldManager,
        [PartOf] = "warpdrive",
        [Component] = component,
    };
}
