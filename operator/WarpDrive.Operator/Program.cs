using System.CommandLine;
using k8s;
using WarpDrive.Operator.Install;
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
var manifests = new Command("manifests", "Print install manifests: CRDs, namespace, RBAC, CSIDriver, operator Deployment, node DaemonSet.")
{
    ns, image, nodeImage, cachePath, cacheSize,
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
    };
    Console.Out.Write(KubernetesYaml.SerializeAll(InstallManifests.Build(settings)));
    return 0;
});

var root = new RootCommand("warpdrive-operator: reconciles WarpDataSources and WarpCacheWarms into node configs, volumes and warm jobs.")
{
    crds,
    manifests,
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
