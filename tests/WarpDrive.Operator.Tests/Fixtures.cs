using k8s.Models;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Tests;

/// <summary>Small builders for the cluster objects the pure rendering functions take.</summary>
internal static class Fixtures
{
    public static V1Node Node(string name, params (string Key, string Value)[] labels) => new()
    {
        ApiVersion = "v1",
        Kind = "Node",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            Uid = "uid-" + name,
            Labels = labels.ToDictionary(l => l.Key, l => l.Value),
        },
    };

    public static WarpDataSource Source(string ns, string name, string type, Dictionary<string, string> config, AuthSpec? auth = null,
        Dictionary<string, string>? nodeSelector = null, DateTime? created = null) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Uid = $"uid-{ns}-{name}",
            CreationTimestamp = created ?? new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc),
        },
        Spec = new WarpDataSourceSpec
        {
            Backend = new BackendSpec { Type = type, Config = config },
            Auth = auth,
            NodeSelector = nodeSelector,
        },
    };

    public static WarpDataSource Local(string ns, string name, string root = "/srv/data", Dictionary<string, string>? nodeSelector = null, DateTime? created = null) =>
        Source(ns, name, BackendTypes.Local, new() { ["root"] = root }, nodeSelector: nodeSelector, created: created);

    public static V1Secret Secret(string ns, string name, params (string Key, string Value)[] data) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
        Data = data.ToDictionary(d => d.Key, d => System.Text.Encoding.UTF8.GetBytes(d.Value)),
    };
}
