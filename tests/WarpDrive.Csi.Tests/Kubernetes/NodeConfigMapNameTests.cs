using NUnit.Framework;
using WarpDrive.Node.Kubernetes;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>Which ConfigMap <c>csi --kube</c> reads: flags over the DaemonSet's env, and the operator's rule for long names.</summary>
public sealed class NodeConfigMapNameTests
{
    private static readonly Dictionary<string, string> DaemonSetEnv = new()
    {
        [NodeConfigMapName.NameVariable] = "warpdrive-node-node-1",
        [NodeConfigMapName.NamespaceVariable] = "warpdrive",
    };

    [Test]
    public void TheEnvironmentNamesItAndFlagsWin()
    {
        var fromEnv = NodeConfigMapName.Resolve(null, null, DaemonSetEnv.GetValueOrDefault, out _);
        var fromFlags = NodeConfigMapName.Resolve("mine", "ops", DaemonSetEnv.GetValueOrDefault, out _);

        Assert.Multiple(() =>
        {
            Assert.That(fromEnv, Is.EqualTo(new NodeConfigMapName("warpdrive", "warpdrive-node-node-1")));
            Assert.That(fromFlags, Is.EqualTo(new NodeConfigMapName("ops", "mine")));
        });
    }

    [Test]
    public void AMissingNameOrNamespaceSaysWhereToGiveIt()
    {
        var noName = NodeConfigMapName.Resolve(null, "ns", _ => null, out var nameError);
        var noNamespace = NodeConfigMapName.Resolve("cm", "", _ => null, out var namespaceError);

        Assert.Multiple(() =>
        {
            Assert.That(noName, Is.Null);
            Assert.That(nameError, Does.Contain("--configmap").And.Contain("WARPDRIVE_CONFIGMAP"));
            Assert.That(noNamespace, Is.Null);
            Assert.That(namespaceError, Does.Contain("--configmap-namespace").And.Contain("POD_NAMESPACE"));
        });
    }

    [Test]
    public void ANameTooLongIsShortenedAsTheOperatorNamesIt()
    {
        // Expected value computed outside .NET (Python hashlib) from NodeConfigMaps.Name's rule: the first 242
        // characters, then "-" and 10 hex digits of sha256(node name).
        var node = new string('n', 250);

        var resolved = NodeConfigMapName.Resolve("warpdrive-node-" + node, "ns", _ => null, out _)!;

        Assert.Multiple(() =>
        {
            Assert.That(resolved.Name, Is.EqualTo("warpdrive-node-" + new string('n', 227) + "-213b83271b"));
            Assert.That(NodeConfigMapName.Shorten("warpdrive-node-node-1"), Is.EqualTo("warpdrive-node-node-1"));
        });
    }
}
