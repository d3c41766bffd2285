using System.CommandLine;
using System.Runtime.InteropServices;
using k8s;
using Microsoft.Extensions.Logging;
using WarpDrive.Operator.Controller;
using WarpDrive.Operator.Governance;
using WarpDrive.Operator.Install;
using WarpDrive.Operator.Rendering;
using WarpDrive.Operator.Resources;

var write = new Option<DirectoryInfo?>("--write") { Description = "Write one file per CRD into this directory instead of printing." };
var crds = new Command("crds", "Print the CustomResourceDefinitions generated from the C# resource types.") { write };
crds.SetAction(parsed =>
{
    var directory = parsed.GetValue(write);
    foreach (var crd in CrdGenerator.All())
    {
        var yaml = CrdGenerator.ToYaml(crd);
        if (directory is null)
        {
            Console.Out.Write("---\n" + yaml);
            continue;
        }

        directory.Create();
        var path = Path.Combine(directory.FullName, CrdGenerator.FileName(crd));
        File.WriteAllText(path, yaml);
        Console.Error.WriteLine($"wrote {path}");
    }

    return 0;
});

var defaults = new InstallSettings();
var ns = new Option<string>("--namespace") { Description = "Namespace of the operator and node agents.", DefaultValueFactory = _ => defaults.Namespace };
var image = new Option<string>("--image") { Description = "Operator image.", DefaultValueFactory = _ => defaults.OperatorImage };
var nodeImage = new Option<string>("--node-image") { Description = "Node agent image.", DefaultValueFactory = _ => defaults.NodeImage };
var cachePath = new Option<string>("--cache-path") { Description = "Host directory of the node cache.", DefaultValueFactory = _ => defaults.CachePath };
var cacheSize = new Option<string>("--cache-size") { Description = "Node cache size (e.g. 500GB).", DefaultValueFactory = _ => defaults.CacheSize };
var withControlPlane = new Option<bool>("--control-plane") { Description = "Embed the governance control plane (SQLite on a PersistentVolumeClaim, one operator replica); --control-plane=false for two replicas without it.", DefaultValueFactory = _ => defaults.ControlPlane };
var tokenAudience = new Option<string[]>("--token-audience")
{
    Description = "Another audience of the pod service-account tokens the kubelet sends to the node plugin (CSIDriver tokenRequests), besides "
        + string.Join(" and ", CsiTokenRequests.DefaultAudiences) + "; repeatable. GCP workload identity federation: the pool provider, "
        + "//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/PR.",
    AllowMultipleArgumentsPerToken = false,
};
var manifests = new Command("manifests", "Print install manifests: CRDs, namespace, RBAC, CSIDriver, control plane Service and claim, operator Deployment, node DaemonSet.")
{
    ns, image, nodeImage, cachePath, cacheSize, withControlPlane, tokenAudience,
};
manifests.SetAction(parsed =>
{
    var settings = new InstallSettings
    {
        Namespace = parsed.GetValue(ns)!,
        OperatorImage = parsed.GetValue(image)!,
        NodeImage = parsed.GetValue(nodeImage)!,
        CachePath = parsed.GetValue(cachePath)!,
        CacheSize = parsed.GetValue(cacheSize)!,
        ControlPlane = parsed.GetValue(withControlPlane),
        TokenAudiences = CsiTokenRequests.WithExtra(parsed.GetValue(tokenAudience) ?? []),
    };
    Console.Out.Write(KubernetesYaml.SerializeAll(InstallManifests.Build(settings)));
    return 0;
});

var runNamespace = new Option<string>("--namespace") { Description = "Namespace of the operator, node ConfigMaps, credentials Secret and Lease.", DefaultValueFactory = _ => defaults.Namespace };
var runCachePath = new Option<string>("--cache-path") { Description = "Host directory of the node cache, written into node configs.", DefaultValueFactory = _ => defaults.CachePath };
var runCacheSize = new Option<string>("--cache-size") { Description = "Node cache size written into node configs (e.g. 500GB).", DefaultValueFactory = _ => defaults.CacheSize };
var leaderElect = new Option<bool>("--leader-elect") { Description = "Reconcile only while holding the Lease warpdrive-operator-leader (needed with more than one replica).", DefaultValueFactory = _ => true };
var resync = new Option<string>("--resync") { Description = "Re-reconcile every object this often even without changes (e.g. 10m).", DefaultValueFactory = _ => "10m" };
var workers = new Option<int>("--workers") { Description = "Reconciles running at once.", DefaultValueFactory = _ => 2 };
var controlPlaneDefaults = new ControlPlaneSettings();
var controlPlaneAddr = new Option<string>("--control-plane-addr") { Description = "Listen address [host]:port of the embedded governance control plane; empty disables it (and node telemetry).", DefaultValueFactory = _ => controlPlaneDefaults.ListenAddress };
var controlPlaneDatabase = new Option<string>("--control-plane-database") { Description = "sqlite:///path/file.db (one replica only) or postgres://user@host:port/db (any number of replicas).", DefaultValueFactory = _ => controlPlaneDefaults.Database };
var controlPlanePasswordEnv = new Option<string?>("--control-plane-password-env") { Description = "Name of the environment variable holding the PostgreSQL password." };
var controlPlaneAdmins = new Option<string>("--control-plane-admins") { Description = "Comma-separated extra admins besides group warpdrive:admins: user:NAME, group:NAME or NAME (either).", DefaultValueFactory = _ => "" };
var controlPlaneReaders = new Option<string>("--control-plane-readers") { Description = "Comma-separated extra readers besides group warpdrive:readers: user:NAME, group:NAME or NAME (either).", DefaultValueFactory = _ => "" };
var controlPlaneAudience = new Option<string>("--control-plane-audience") { Description = "Audience the bearer tokens must be minted for (TokenReview spec.audiences).", DefaultValueFactory = _ => controlPlaneDefaults.Audience };
var run = new Command("run", "Run the reconcile loop (and the governance control plane) against the cluster in the pod's service account or KUBECONFIG.")
{
    runNamespace, runCachePath, runCacheSize, leaderElect, resync, workers,
    controlPlaneAddr, controlPlaneDatabase, controlPlanePasswordEnv, controlPlaneAdmins, controlPlaneReaders, controlPlaneAudience,
};
run.SetAction(async (parsed, cancellationToken) =>
{
    if (!OperatorHost.TryParseDuration(parsed.GetValue(resync)!, out var resyncPeriod) || parsed.GetValue(workers) < 1)
    {
        Console.Error.WriteLine("warpdrive-operator: --resync must be a duration like 10m and --workers at least 1");
        return 2;
    }

    ControlPlaneSettings? controlPlane = null;
    if (parsed.GetValue(controlPlaneAddr) is { Length: > 0 } listen)
    {
        controlPlane = new ControlPlaneSettings
        {
            ListenAddress = listen,
            Database = parsed.GetValue(controlPlaneDatabase)!,
            PasswordEnvironmentVariable = parsed.GetValue(controlPlanePasswordEnv),
            Admins = SplitList(parsed.GetValue(controlPlaneAdmins)),
            Readers = SplitList(parsed.GetValue(controlPlaneReaders)),
            Audience = parsed.GetValue(controlPlaneAudience)!,
        };
        if (controlPlane.Problem() is { } problem)
        {
            Console.Error.WriteLine($"warpdrive-operator: control plane: {problem}");
            return 2;
        }
    }

    // The embedded control plane's web host takes SIGTERM and Ctrl-C for itself (ConsoleLifetime: it cancels the
    // default action and stops only Kestrel), so System.CommandLine would never see them. These see them too.
    using var terminate = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    void Terminate(PosixSignalContext signal)
    {
        signal.Cancel = true;
        terminate.Cancel();
    }

    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Terminate);
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Terminate);

    // ASP.NET Core's per-request lines (every probe of /healthz) only as warnings: the operator's own lines stay readable.
    using var logging = LoggerFactory.Create(b => b.AddSimpleConsole(o =>
    {
        o.SingleLine = true;
        o.TimestampFormat = "HH:mm:ss ";
    }).AddFilter("Microsoft.AspNetCore", LogLevel.Warning));
    var settings = new RunSettings
    {
        Options = new OperatorOptions
        {
            Namespace = parsed.GetValue(runNamespace)!,
            CachePath = parsed.GetValue(runCachePath)!,
            CacheMaxSize = parsed.GetValue(runCacheSize)!,
            ControlPlaneEnabled = controlPlane is not null,
        },
        LeaderElect = parsed.GetValue(leaderElect),
        Resync = resyncPeriod,
        Workers = parsed.GetValue(workers),
        ControlPlane = controlPlane,
    };
    return await OperatorHost.RunAsync(settings, logging, terminate.Token);
});

var root = new RootCommand("warpdrive-operator: reconciles WarpDataSources and WarpCacheWarms into node configs, volumes and warm jobs.")
{
    crds,
    manifests,
    run,
};

var result = root.Parse(args);
if (result.Errors.Count > 0)
{
    foreach (var error in result.Errors)
    {
        Console.Error.WriteLine($"warpdrive-operator: {error.Message}");
    }

    return 2;
}

return await result.InvokeAsync();

static List<string> SplitList(string? text) =>
    (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
