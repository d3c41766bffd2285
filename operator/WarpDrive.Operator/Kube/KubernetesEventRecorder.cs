using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using WarpDrive.Operator.Controller;

namespace WarpDrive.Operator.Kube;

/// <summary>
/// events.k8s.io/v1 Events, fire-and-forget: an event that cannot be written is logged and dropped, never a reason
/// to fail a reconcile.
/// </summary>
public sealed class KubernetesEventRecorder(IKubernetes client, string instance, ILogger logger) : IEventRecorder
{
    public void Normal(IKubernetesObject<V1ObjectMeta> regarding, string reason, string note) => Record(regarding, "Normal", reason, note);

    public void Warning(IKubernetesObject<V1ObjectMeta> regarding, string reason, string note) => Record(regarding, "Warning", reason, note);

    private void Record(IKubernetesObject<V1ObjectMeta> regarding, string type, string reason, string note)
    {
        var ns = regarding.Metadata.NamespaceProperty ?? "default";
        var now = DateTime.UtcNow;
        var body = new Eventsv1Event
        {
            // A name of our own, as the kubelet's recorder does (<object>.<hex time>): generateName "x." is refused,
            // since a name must end with an alphanumeric character.
            Metadata = new V1ObjectMeta { Name = $"{regarding.Metadata.Name}.{now.Ticks:x}{Random.Shared.Next(0x1000):x3}", NamespaceProperty = ns },
            EventTime = now,
            Type = type,
            Reason = reason,
            Action = reason,
            Note = note.Length > 1024 ? note[..1024] : note,
            ReportingController = "warpdrive.io/operator",
            ReportingInstance = instance,
            Regarding = new V1ObjectReference
            {
                ApiVersion = regarding.ApiVersion,
                Kind = regarding.Kind,
                Name = regarding.Metadata.Name,
                NamespaceProperty = ns,
                Uid = regarding.Metadata.Uid,
                ResourceVersion = regarding.Metadata.ResourceVersion,
            },
        };
        _ = Task.Run(async () =>
        {
            try
            {
                await client.EventsV1.CreateNamespacedEventAsync(body, ns).ConfigureAwait(false);
            }
            catch (Exception error)
            {
                logger.LogWarning("event {Reason} on {Kind} {Name} not recorded: {Error}", reason, regarding.Kind, regarding.Metadata.Name, error.Message);
            }
        });
    }
}
