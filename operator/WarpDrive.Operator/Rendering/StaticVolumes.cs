using k8s.Models;
using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Rendering;

/// <summary>
/// The statically provisioned PersistentVolume of a source and the claim bound to it, so pods in the source's
/// namespace mount it with <c>persistentVolumeClaim.claimName: &lt;source name&gt;</c>. The PV is cluster-scoped and
/// cannot be owned by the namespaced source: the operator deletes it through its finalizer. The claim is owned by
/// the source and goes with it.
/// </summary>
public static class StaticVolumes
{
    public const string SourceAttribute = "source";
    public const string NamespaceAttribute = "namespace";

    /// <summary>
    /// Nominal size: the data lives in the backend, so capacity means nothing, but both objects need one and the
    /// claim's request must fit the volume.
    /// </summary>
    public const string NominalCapacity = "1Gi";

    public static V1PersistentVolume PersistentVolume(WarpDataSource source)
    {
        var ns = SourceNames.Namespace(source);
        var labels = ManagedLabels.For("volume");
        labels[ManagedLabels.SourceNamespace] = ns;
        labels[ManagedLabels.SourceName] = source.Metadata.Name;
        return new V1PersistentVolume
        {
            ApiVersion = "v1",
            Kind = "PersistentVolume",
            Metadata = new V1ObjectMeta { Name = SourceNames.PersistentVolumeName(source), Labels = labels },
            Spec = new V1PersistentVolumeSpec
            {
                AccessModes = ["ReadOnlyMany"],
                Capacity = new Dictionary<string, ResourceQuantity> { ["storage"] = new(NominalCapacity) },
                // Retain: there is nothing to delete in the backend, and Delete would need a provisioner.
                PersistentVolumeReclaimPolicy = "Retain",
                // Empty class: bind only to our claim, never to a default StorageClass's dynamic provisioning.
                StorageClassName = "",
                VolumeMode = "Filesystem",
                ClaimRef = new V1ObjectReference
                {
                    ApiVersion = "v1",
                    Kind = "PersistentVolumeClaim",
                    NamespaceProperty = ns,
                    Name = source.Metadata.Name,
                },
                Csi = new V1CSIPersistentVolumeSource
                {
                    Driver = WarpDriveApi.CsiDriverName,
                    VolumeHandle = SourceNames.VolumeHandle(source),
                    ReadOnlyProperty = true,
                    VolumeAttributes = new Dictionary<string, string>
                    {
                        [SourceAttribute] = source.Metadata.Name,
                        [NamespaceAttribute] = ns,
                    },
                },
            },
        };
    }

    public static V1PersistentVolumeClaim Claim(WarpDataSource source)
    {
        var ns = SourceNames.Namespace(source);
        var labels = ManagedLabels.For("volume");
        labels[ManagedLabels.SourceName] = source.Metadata.Name;
        return new V1PersistentVolumeClaim
        {
            ApiVersion = "v1",
            Kind = "PersistentVolumeClaim",
            Metadata = new V1ObjectMeta
            {
                Name = source.Metadata.Name,
                NamespaceProperty = ns,
                Labels = labels,
                OwnerReferences = source.Metadata.Uid is null ? null :
                [
                    new V1OwnerReference
                    {
                        ApiVersion = WarpDriveApi.GroupVersion,
                        Kind = WarpDataSource.KindName,
                        Name = source.Metadata.Name,
                        Uid = source.Metadata.Uid,
                        Controller = true,
                        BlockOwnerDeletion = true,
                    },
                ],
            },
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadOnlyMany"],
                StorageClassName = "",
                VolumeMode = "Filesystem",
                VolumeName = SourceNames.PersistentVolumeName(source),
                Resources = new V1VolumeResourceRequirements
                {
                    Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(NominalCapacity) },
                },
            },
        };
    }
}
