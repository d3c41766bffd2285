using System.Net;
using k8s;
using k8s.Autorest;

namespace WarpDrive.E2E.Tests;

/// <summary>
/// After hack/e2e.sh uninstalled the chart: nothing of WarpDrive is left on the node or in the API. A user who
/// uninstalls must not find a FUSE mount, a PersistentVolume, a custom resource held by a finalizer or a registered
/// driver behind.
/// </summary>
[Category("Uninstalled"), NonParallelizable]
public sealed class UninstallTests
{
    private const string Driver = "csi.warpdrive.io";
    private Kubernetes client = null!;

    [OneTimeSetUp]
    public void SetUp()
    {
        if (Environment.GetEnvironmentVariable("WARPDRIVE_E2E_UNINSTALLED") != "1")
        {
            Assert.Ignore("runs only after hack/e2e.sh has uninstalled the chart (WARPDRIVE_E2E_UNINSTALLED=1)");
        }

        client = Cluster.Client;
    }

    [Test]
    public void No_fuse_mount_of_warpdrive_is_left_on_the_node()
    {
        var ours = File.ReadAllLines("/proc/self/mountinfo")
            .Where(line => line.Contains(" - fuse", StringComparison.Ordinal) && line.Contains("warpdrive", StringComparison.Ordinal))
            .ToList();
        Assert.That(ours, Is.Empty);
        Assert.That(Kube.HostMountsBelow("/var/lib/kubelet/plugins/csi.warpdrive.io/"), Is.Empty);
    }

    [Test]
    public async Task No_persistent_volume_of_the_driver_is_left()
    {
        var volumes = await client.CoreV1.ListPersistentVolumeAsync();
        Assert.That(volumes.Items.Where(pv => pv.Spec.Csi?.Driver == Driver).Select(pv => pv.Metadata.Name), Is.Empty);
    }

    [Test]
    public async Task The_custom_resource_definitions_are_gone_so_no_resource_is_stuck_on_a_finalizer()
    {
        foreach (var name in new[] { "warpdatasources.warpdrive.io", "warpcachewarms.warpdrive.io" })
        {
            var read = Assert.ThrowsAsync<HttpOperationException>(() => client.ApiextensionsV1.ReadCustomResourceDefinitionAsync(name));
            Assert.That(read!.Response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), name);
        }
    }

    [Test]
    public async Task The_driver_is_no_longer_registered_with_the_kubelet()
    {
        await Kube.EventuallyAsync("the driver gone from every CSINode", async () =>
            (await client.StorageV1.ListCSINodeAsync()).Items.All(n => n.Spec.Drivers?.All(d => d.Name != Driver) ?? true),
            TimeSpan.FromSeconds(60));
        var drivers = await client.StorageV1.ListCSIDriverAsync();
        Assert.That(drivers.Items.Select(d => d.Metadata.Name), Does.Not.Contain(Driver));
    }
}
