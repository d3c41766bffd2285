using WarpDrive.Operator.Rendering;

namespace WarpDrive.Operator.Tests;

public sealed class StaticVolumeTests
{
    [Test]
    public void PersistentVolume_points_the_csi_driver_at_the_source()
    {
        var pv = StaticVolumes.PersistentVolume(Fixtures.Local("team-a", "imagenet"));

        Assert.Multiple(() =>
        {
            Assert.That(pv.Metadata.Name, Is.EqualTo("warpdrive-team-a-imagenet"));
            Assert.That(pv.Spec.Csi.Driver, Is.EqualTo("csi.warpdrive.io"));
            Assert.That(pv.Spec.Csi.VolumeHandle, Is.EqualTo("team-a/imagenet"));
            Assert.That(pv.Spec.Csi.ReadOnlyProperty, Is.True);
            Assert.That(pv.Spec.Csi.VolumeAttributes, Is.EqualTo(new Dictionary<string, string> { ["source"] = "imagenet", ["namespace"] = "team-a" }));
            Assert.That(pv.Spec.AccessModes, Is.EqualTo(new[] { "ReadOnlyMany" }));
            Assert.That(pv.Spec.PersistentVolumeReclaimPolicy, Is.EqualTo("Retain"));
            Assert.That(pv.Spec.StorageClassName, Is.Empty);
            Assert.That((pv.Spec.ClaimRef.NamespaceProperty, pv.Spec.ClaimRef.Name), Is.EqualTo(("team-a", "imagenet")));
        });
    }

    [Test]
    public void Claim_is_bound_to_the_volume_and_owned_by_the_source()
    {
        var source = Fixtures.Local("team-a", "imagenet");
        var pv = StaticVolumes.PersistentVolume(source);
        var pvc = StaticVolumes.Claim(source);

        Assert.Multiple(() =>
        {
            Assert.That((pvc.Metadata.NamespaceProperty, pvc.Metadata.Name), Is.EqualTo(("team-a", "imagenet")));
            Assert.That(pvc.Spec.VolumeName, Is.EqualTo(pv.Metadata.Name));
            Assert.That(pvc.Spec.StorageClassName, Is.EqualTo(pv.Spec.StorageClassName));
            Assert.That(pvc.Spec.AccessModes, Is.EqualTo(pv.Spec.AccessModes));
            // The claim's request must fit the volume, or the binder leaves the claim Pending.
            Assert.That(pvc.Spec.Resources.Requests["storage"].ToDecimal(), Is.LessThanOrEqualTo(pv.Spec.Capacity["storage"].ToDecimal()));
            var owner = pvc.Metadata.OwnerReferences.Single();
            Assert.That((owner.Kind, owner.Name, owner.Uid, owner.Controller), Is.EqualTo(("WarpDataSource", "imagenet", "uid-team-a-imagenet", (bool?)true)));
            Assert.That(owner.ApiVersion, Is.EqualTo("warpdrive.io/v1alpha1"));
        });
    }
}
