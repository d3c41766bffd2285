using k8s.Models;
using WarpDrive.Operator.Governance;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Install;

/// <summary>Images and placement of an install; command-line options of <c>warpdrive-operator manifests</c>.</summary>
public sealed record InstallSettings
{
    public string Namespace { get; init; } = "warpdrive-system";

    public string OperatorImage { get; init; } = "ghcr.io/warpdrive/warpdrive-operator:0.1.0";

    public string NodeImage { get; init; } = "ghcr.io/warpdrive/warpdrive-node:0.1.0";

    public string RegistrarImage { get; init; } = "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.13.0";

    /// <summary>Host directory of the node cache.</summary>
    public string CachePath { get; init; } = "/var/lib/warpdrive/cache";

    public string CacheSize { get; init; } = "50GB";

    /// <summary>
    /// The governance control plane inside the operator, on SQLite in a PersistentVolumeClaim: one operator replica
    /// (each replica would keep its own database) with the Recreate strategy (a ReadWriteOnce volume moves with it).
    /// For PostgreSQL and several replicas use the Helm chart.
    /// </summary>
    public bool ControlPlane { get; init; } = true;

    public string ControlPlaneStorage { get; init; } = "1Gi";

    /// <summary>
    /// Audiences of the service-account tokens the kubelet sends with every NodePublishVolume (the CSIDriver's
    /// tokenRequests), for sources with <c>spec.auth.source: pod</c>. The defaults are what AWS STS and Entra expect;
    /// GKE/GCP workload identity federation needs the pool provider's audience added (<c>--token-audience</c>).
    /// </summary>
    public IReadOnlyList<string> TokenAudiences { get; init; } = CsiTokenRequests.DefaultAudiences;

    public OperatorOptions OperatorOptions => new()
    {
        Namespace = Namespace,
        CachePath = CachePath,
        CacheMaxSize = CacheSize,
        ControlPlaneEnabled = ControlPlane,
    };
}

/// <summary>
/// Everything <c>kubectl apply -f</c> needs to install WarpDrive without Helm, built from the client's model types so
/// field names and nesting are checked by the compiler rather than by a cluster.
/// </summary>
public static class InstallManifests
{
    public const string KubeletDir = "/var/lib/kubelet";
    public const string PluginDir = KubeletDir + "/plugins/" + WarpDriveApi.CsiDriverName;
    public const string HealthPort = "9090";

    public static List<object> Build(InstallSettings settings)
    {
        var ns = settings.Namespace;
        var objects = new List<object>();
        objects.AddRange(CrdGenerator.All());
        objects.Add(new V1Namespace
        {
            ApiVersion = "v1",
            Kind = "Namespace",
            Metadata = new V1ObjectMeta { Name = ns, Labels = new Dictionary<string, string>
            {
                // The node agent is privileged (FUSE, mount propagation).
                ["pod-security.kubernetes.io/enforce"] = "privileged",
            } },
        });
        objects.Add(ServiceAccount(Rbac.OperatorName, ns));
        objects.Add(ServiceAccount(Rbac.NodeName, ns));
        var operatorClusterRules = settings.ControlPlane ? [.. Rbac.OperatorClusterRules(), .. Rbac.ControlPlaneClusterRules()] : Rbac.OperatorClusterRules();
        var operatorNamespaceRules = settings.ControlPlane ? [.. Rbac.OperatorNamespaceRules(), .. Rbac.ControlPlaneNamespaceRules()] : Rbac.OperatorNamespaceRules();
        objects.AddRange(RoleAndBindings(Rbac.OperatorName, ns, operatorClusterRules, operatorNamespaceRules));
        objects.AddRange(RoleAndBindings(Rbac.NodeName, ns, Rbac.NodeClusterRules(), Rbac.NodeNamespaceRules()));
        objects.Add(CsiDriver(settings));
        if (settings.ControlPlane)
        {
            objects.Add(ControlPlaneClaim(settings));
            objects.Add(ControlPlaneService(settings));
        }

        objects.Add(OperatorDeployment(settings));
        objects.Add(NodeDaemonSet(settings));
        return objects;
    }

    public const string ControlPlaneDataDir = "/var/lib/warpdrive-control-plane";
    public const string ControlPlanePortName = "control-plane";

    /// <summary>The node agents' endpoint: every operator pod (each serves the API), port 8090.</summary>
    public static V1Service ControlPlaneService(InstallSettings settings) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = new V1ObjectMeta { Name = ControlPlaneSettings.ServiceName, NamespaceProperty = settings.Namespace, Labels = Labels("control-plane") },
        Spec = new V1ServiceSpec
        {
            Selector = Labels("operator"),
            Ports = [new V1ServicePort { Name = "http", Port = ControlPlaneSettings.ServicePort, TargetPort = ControlPlanePortName, Protocol = "TCP" }],
        },
    };

    /// <summary>The SQLite database's volume: teams and quotas are configuration and must survive a restart.</summary>
    public static V1PersistentVolumeClaim ControlPlaneClaim(InstallSettings settings) => new()
    {
        ApiVersion = "v1",
        Kind = "PersistentVolumeClaim",
        Metadata = new V1ObjectMeta { Name = ControlPlaneSettings.ServiceName, NamespaceProperty = settings.Namespace, Labels = Labels("control-plane") },
        Spec = new V1PersistentVolumeClaimSpec
        {
            AccessModes = ["ReadWriteOnce"],
            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(settings.ControlPlaneStorage) } },
        },
    };

    public static V1CSIDriver CsiDriver(InstallSettings settings) => new()
    {
        ApiVersion = "storage.k8s.io/v1",
        Kind = "CSIDriver",
        Metadata = new V1ObjectMeta { Name = WarpDriveApi.CsiDriverName, Labels = Labels("csi-driver") },
        Spec = new V1CSIDriverSpec
        {
            AttachRequired = false,
            // The plugin checks the pod's namespace against the source's allowedNamespaces.
            PodInfoOnMount = true,
            VolumeLifecycleModes = ["Persistent", "Ephemeral"],
            // A read-only FUSE tree: kubelet must not try to chown it for fsGroup.
            FsGroupPolicy = "None",
            // Pod identity (spec.auth.source: pod): the kubelet sends the pod's service-account token for each of
            // these audiences in NodePublishVolume's volume_context, and calls NodePublishVolume again (republish)
            // while the pod runs, so the agent federates a fresh token before the old one expires.
            TokenRequests = CsiTokenRequests.For(settings.TokenAudiences),
            RequiresRepublish = true,
        },
    };

    public static V1Deployment OperatorDeployment(InstallSettings settings)
    {
        var labels = Labels("operator");
        return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = Rbac.OperatorName, NamespaceProperty = settings.Namespace, Labels = labels },
            Spec = new V1DeploymentSpec
            {
                // Two replicas, one leader (Lease), so a node drain does not stop reconciliation. With the control
                // plane on SQLite only one: each replica would serve its own database behind one Service.
                Replicas = settings.ControlPlane ? 1 : 2,
                // The ReadWriteOnce volume can only follow the pod once the old pod has let go of it.
                Strategy = settings.ControlPlane ? new V1DeploymentStrategy { Type = "Recreate" } : null,
                Selector = new V1LabelSelector { MatchLabels = labels },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        ServiceAccountName = Rbac.OperatorName,
                        SecurityContext = new V1PodSecurityContext
                        {
                            RunAsNonRoot = true,
                            RunAsUser = 65532,
                            // The control plane's volume is writable by the operator's user.
                            FsGroup = settings.ControlPlane ? 65532 : null,
                            SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" },
                        },
                        Volumes = settings.ControlPlane
                            ?
                            [
                                new V1Volume { Name = "control-plane-data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = ControlPlaneSettings.ServiceName } },
                                // The root filesystem is read-only; SQLite spills large sorts to temp files.
                                new V1Volume { Name = "tmp", EmptyDir = new V1EmptyDirVolumeSource() },
                            ]
                            : null,
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "operator",
                                Image = settings.OperatorImage,
                                Args =
                                [
                                    "run",
                                    "--namespace", settings.Namespace,
                                    "--cache-path", settings.CachePath,
                                    "--cache-size", settings.CacheSize,
                                    .. settings.ControlPlane
                                        ? new[] { "--control-plane-addr", ":8090", "--control-plane-database", $"sqlite://{ControlPlaneDataDir}/control-plane.db" }
                                        : ["--control-plane-addr", ""],
                                ],
                                Ports = settings.ControlPlane ? [new V1ContainerPort { Name = ControlPlanePortName, ContainerPort = 8090 }] : null,
                                ReadinessProbe = settings.ControlPlane
                                    ? new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/healthz", Port = ControlPlanePortName }, PeriodSeconds = 10 }
                                    : null,
                                VolumeMounts = settings.ControlPlane
                                    ? [new V1VolumeMount { Name = "control-plane-data", MountPath = ControlPlaneDataDir }, new V1VolumeMount { Name = "tmp", MountPath = "/tmp" }]
                                    : null,
                                Env =
                                [
                                    FieldEnv("POD_NAME", "metadata.name"),
                                    FieldEnv("POD_NAMESPACE", "metadata.namespace"),
                                ],
                                Resources = Resources("50m", "128Mi", "512Mi"),
                                SecurityContext = new V1SecurityContext
                                {
                                    AllowPrivilegeEscalation = false,
                                    ReadOnlyRootFilesystem = true,
                                    Capabilities = new V1Capabilities { Drop = ["ALL"] },
                                },
                            },
                        ],
                    },
                },
            },
        };
    }

    public static V1DaemonSet NodeDaemonSet(InstallSettings settings)
    {
        var labels = Labels("node");
        var options = settings.OperatorOptions;
        return new V1DaemonSet
        {
            ApiVersion = "apps/v1",
            Kind = "DaemonSet",
            Metadata = new V1ObjectMeta { Name = Rbac.NodeName, NamespaceProperty = settings.Namespace, Labels = labels },
            Spec = new V1DaemonSetSpec
            {
                Selector = new V1LabelSelector { MatchLabels = labels },
                UpdateStrategy = new V1DaemonSetUpdateStrategy
                {
                    Type = "RollingUpdate",
                    // The new pod starts beside the old one and takes its FUSE connections over (from the old pod's
                    // fd holder): reading pods never lose their mounts during an upgrade.
                    RollingUpdate = new V1RollingUpdateDaemonSet { MaxSurge = 1, MaxUnavailable = 0 },
                },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels },
                    Spec = new V1PodSpec
                    {
                        ServiceAccountName = Rbac.NodeName,
                        // Access telemetry names the reading pod: FUSE gives the agent the reader's pid as seen from
                        // the agent's pid namespace (0 for a process it cannot see), and the agent reads that pid's
                        // /proc/<pid>/cgroup. Only the host's pid namespace sees the pods' processes.
                        HostPID = true,
                        PriorityClassName = "system-node-critical",
                        Tolerations = [new V1Toleration { OperatorProperty = "Exists" }],
                        NodeSelector = new Dictionary<string, string> { ["kubernetes.io/os"] = "linux" },
                        Containers = [NodeAgent(settings, options), FdHolder(settings), Registrar(settings)],
                        Volumes =
                        [
                            HostPath("fuse-device", "/dev/fuse", "CharDevice"),
                            HostPath("kubelet-dir", KubeletDir, "Directory"),
                            HostPath("plugin-dir", PluginDir, "DirectoryOrCreate"),
                            HostPath("registration-dir", KubeletDir + "/plugins_registry", "Directory"),
                            HostPath("state-dir", options.StateDir, "DirectoryOrCreate"),
                            HostPath("cache-dir", options.CachePath, "DirectoryOrCreate"),
                            // Where csi --kube writes the copy of its ConfigMap (a DaemonSet cannot mount one ConfigMap per node).
                            new V1Volume { Name = "config", EmptyDir = new V1EmptyDirVolumeSource() },
                            .. ControlPlaneTokenVolume(settings),
                            new V1Volume
                            {
                                Name = "credentials",
                                Secret = new V1SecretVolumeSource
                                {
                                    SecretName = options.CredentialsSecretName,
                                    // The operator creates it on its first reconcile; the agent must not wait for it.
                                    Optional = true,
                                    // 0400 octal: readable by the agent (root) only.
                                    DefaultMode = 256,
                                },
                            },
                        ],
                    },
                },
            },
        };
    }

    private static V1Container NodeAgent(InstallSettings settings, OperatorOptions options) => new()
    {
        Name = "agent",
        Image = settings.NodeImage,
        Args =
        [
            "csi",
            "--endpoint", "unix:///csi/csi.sock",
            "--node-id", "$(NODE_NAME)",
            "--kube", // config from this node's ConfigMap, warm jobs from WarpCacheWarms
            "--fd-holder", HolderSocket, // the fd-holder container keeps the mounts alive across crashes of this one
        ],
        Env =
        [
            FieldEnv("NODE_NAME", "spec.nodeName"),
            FieldEnv("POD_UID", "metadata.uid"),
            FieldEnv("POD_NAMESPACE", "metadata.namespace"),
            // The agent watches this ConfigMap (see NodeConfigMaps.Name for names longer than 253 characters).
            new V1EnvVar { Name = "WARPDRIVE_CONFIGMAP", Value = "warpdrive-node-$(NODE_NAME)" },
        ],
        // FUSE mounts and mount propagation into pods need a privileged container.
        SecurityContext = new V1SecurityContext { Privileged = true },
        Ports = [new V1ContainerPort { Name = "metrics", ContainerPort = 9090 }],
        LivenessProbe = new V1Probe
        {
            HttpGet = new V1HTTPGetAction { Path = "/healthz", Port = HealthPort },
            InitialDelaySeconds = 10,
            PeriodSeconds = 10,
            FailureThreshold = 3,
        },
        // Served once the agent has taken its mounts over and serves kubelet: only then may an update delete the old pod.
        ReadinessProbe = new V1Probe
        {
            HttpGet = new V1HTTPGetAction { Path = "/healthz", Port = HealthPort },
            PeriodSeconds = 2,
            FailureThreshold = 1,
        },
        Resources = Resources("100m", "256Mi", "4Gi"),
        VolumeMounts =
        [
            new V1VolumeMount { Name = "fuse-device", MountPath = "/dev/fuse" },
            new V1VolumeMount { Name = "plugin-dir", MountPath = "/csi" },
            // Bidirectional: mounts the agent makes for pods must reach the host, and so the kubelet and the pods.
            new V1VolumeMount { Name = "kubelet-dir", MountPath = KubeletDir, MountPropagation = "Bidirectional" },
            new V1VolumeMount { Name = "state-dir", MountPath = options.StateDir, MountPropagation = "Bidirectional" },
            new V1VolumeMount { Name = "cache-dir", MountPath = options.CachePath },
            new V1VolumeMount { Name = "credentials", MountPath = options.SecretsDir, ReadOnlyProperty = true },
            new V1VolumeMount { Name = "config", MountPath = "/etc/warpdrive" },
            .. settings.ControlPlane
                ? [new V1VolumeMount { Name = ControlPlaneTokenVolumeName, MountPath = options.ControlPlaneTokenDir, ReadOnlyProperty = true }]
                : Array.Empty<V1VolumeMount>(),
        ],
    };

    public const string ControlPlaneTokenVolumeName = "control-plane-token";

    /// <summary>
    /// The agent's identity towards the control plane: its service account's token for audience
    /// warpdrive-control-plane only (useless against the API server), valid one hour and rotated by the kubelet.
    /// </summary>
    private static IEnumerable<V1Volume> ControlPlaneTokenVolume(InstallSettings settings)
    {
        if (!settings.ControlPlane)
        {
            yield break;
        }

        yield return new V1Volume
        {
            Name = ControlPlaneTokenVolumeName,
            Projected = new V1ProjectedVolumeSource
            {
                Sources =
                [
                    new V1VolumeProjection
                    {
                        ServiceAccountToken = new V1ServiceAccountTokenProjection
                        {
                            Audience = TokenReviewSettings.DefaultAudience,
                            ExpirationSeconds = 3600,
                            Path = "token",
                        },
                    },
                ],
            },
        };
    }

    /// <summary>Each pod's fd holder listens here: a directory shared by the DaemonSet's pods on a node, one socket per pod.</summary>
    private const string HolderSocket = "/csi/holders/$(POD_UID).sock";

    /// <summary>Keeps a duplicate of every /dev/fuse descriptor the agent serves, and nothing else: no privileges needed.</summary>
    private static V1Container FdHolder(InstallSettings settings) => new()
    {
        Name = "fd-holder",
        Image = settings.NodeImage,
        Args = ["fd-holder", "--socket", HolderSocket],
        // No diagnostics socket in /tmp: the root file system is read-only.
        Env = [FieldEnv("POD_UID", "metadata.uid"), new V1EnvVar { Name = "DOTNET_EnableDiagnostics", Value = "0" }],
        SecurityContext = new V1SecurityContext
        {
            AllowPrivilegeEscalation = false,
            ReadOnlyRootFilesystem = true,
            Capabilities = new V1Capabilities { Drop = ["ALL"] },
        },
        Resources = Resources("10m", "48Mi", "128Mi"),
        VolumeMounts = [new V1VolumeMount { Name = "plugin-dir", MountPath = "/csi" }],
    };

    private static V1Container Registrar(InstallSettings settings) => new()
    {
        Name = "node-driver-registrar",
        Image = settings.RegistrarImage,
        Args =
        [
            "--csi-address=/csi/csi.sock",
            $"--kubelet-registration-path={PluginDir}/csi.sock",
            "--v=2",
        ],
        Resources = Resources("10m", "20Mi", "64Mi"),
        VolumeMounts =
        [
            new V1VolumeMount { Name = "plugin-dir", MountPath = "/csi" },
            new V1VolumeMount { Name = "registration-dir", MountPath = "/registration" },
        ],
    };

    private static IEnumerable<object> RoleAndBindings(string name, string ns, List<V1PolicyRule> clusterRules, List<V1PolicyRule> namespaceRules)
    {
        var subject = new Rbacv1Subject { Kind = "ServiceAccount", Name = name, NamespaceProperty = ns };
        yield return new V1ClusterRole
        {
            ApiVersion = "rbac.authorization.k8s.io/v1",
            Kind = "ClusterRole",
            Metadata = new V1ObjectMeta { Name = name, Labels = Labels("rbac") },
            Rules = clusterRules,
        };
        yield return new V1ClusterRoleBinding
        {
            ApiVersion = "rbac.authorization.k8s.io/v1",
            Kind = "ClusterRoleBinding",
            Metadata = new V1ObjectMeta { Name = name, Labels = Labels("rbac") },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "ClusterRole", Name = name },
            Subjects = [subject],
        };
        yield return new V1Role
        {
            ApiVersion = "rbac.authorization.k8s.io/v1",
            Kind = "Role",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = Labels("rbac") },
            Rules = namespaceRules,
        };
        yield return new V1RoleBinding
        {
            ApiVersion = "rbac.authorization.k8s.io/v1",
            Kind = "RoleBinding",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = Labels("rbac") },
            RoleRef = new V1RoleRef { ApiGroup = "rbac.authorization.k8s.io", Kind = "Role", Name = name },
            Subjects = [subject],
        };
    }

    private static V1ServiceAccount ServiceAccount(string name, string ns) => new()
    {
        ApiVersion = "v1",
        Kind = "ServiceAccount",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns, Labels = Labels("rbac") },
    };

    private static V1Volume HostPath(string name, string path, string type) =>
        new() { Name = name, HostPath = new V1HostPathVolumeSource { Path = path, Type = type } };

    private static V1EnvVar FieldEnv(string name, string fieldPath) => new()
    {
        Name = name,
        ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = fieldPath } },
    };

    private static V1ResourceRequirements Resources(string cpu, string memory, string memoryLimit) => new()
    {
        Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu), ["memory"] = new(memory) },
        Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new(memoryLimit) },
    };

    private static Dictionary<string, string> Labels(string component) => new()
    {
        ["app.kubernetes.io/name"] = "warpdrive",
        ["app.kubernetes.io/component"] = component,
    };
}
