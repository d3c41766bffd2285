using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace WarpDrive.Operator.Resources;

/// <summary>One status condition, shaped exactly like metav1.Condition so <c>kubectl wait --for=condition=Ready</c> works.</summary>
[Description("A status condition in the shape of metav1.Condition.")]
public sealed class StatusCondition
{
    [Required, Description("Condition type in CamelCase, e.g. Ready."), MaxLength(316)]
    [RegularExpression(@"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$")]
    public string Type { get; set; } = "";

    [Required, Description("True, False or Unknown."), AllowedValues("True", "False", "Unknown")]
    public string Status { get; set; } = "Unknown";

    [Description("The .metadata.generation the condition was set from.")]
    [Range(0, long.MaxValue)]
    public long? ObservedGeneration { get; set; }

    [Required, Description("When the condition last changed status."), SchemaFormat("date-time")]
    public DateTime LastTransitionTime { get; set; }

    [Required, Description("CamelCase reason for the last transition."), MinLength(1), MaxLength(1024)]
    [RegularExpression(@"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$")]
    public string Reason { get; set; } = "";

    [Required, Description("Human-readable detail of the transition; never holds a secret."), MaxLength(32768)]
    public string Message { get; set; } = "";
}
