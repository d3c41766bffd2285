namespace WarpDrive.Operator.Resources;

/// <summary>
/// A CEL rule emitted as <c>x-kubernetes-validations</c> on the schema of the class or property it decorates.
/// For what the structural schema alone cannot say (one field required depending on another, …).
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Property, AllowMultiple = true)]
public sealed class CelRuleAttribute(string rule, string message) : Attribute
{
    public string Rule { get; } = rule;

    /// <summary>Shown to the user on rejection; names the offending field by its full path.</summary>
    public string Message { get; } = message;

    /// <summary>JSON path, relative to the decorated node, of the field the error is reported on (e.g. <c>.secretRef</c>).</summary>
    public string? FieldPath { get; init; }

    /// <summary>Machine-readable reason: FieldValueRequired, FieldValueInvalid, FieldValueForbidden or FieldValueDuplicate.</summary>
    public string? Reason { get; init; }
}

/// <summary>Marks a list as <c>x-kubernetes-list-type: map</c> keyed by the given item fields (for per-key server-side apply ownership).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class ListMapAttribute(params string[] keys) : Attribute
{
    public IReadOnlyList<string> Keys { get; } = keys;
}

/// <summary>OpenAPI <c>format</c> of a string field (e.g. <c>date-time</c>).</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaFormatAttribute(string format) : Attribute
{
    public string Format { get; } = format;
}

/// <summary>Default value the API server fills in when the field is left out.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SchemaDefaultAttribute(object value) : Attribute
{
    public object Value { get; } = value;
}

/// <summary>Names, categories and scope of a custom resource, beyond what <see cref="k8s.Models.KubernetesEntityAttribute"/> holds.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class CustomResourceAttribute(string singular, params string[] shortNames) : Attribute
{
    public string Singular { get; } = singular;

    public IReadOnlyList<string> ShortNames { get; } = shortNames;

    public string Category { get; init; } = "warpdrive";
}

/// <summary>An <c>additionalPrinterColumns</c> entry shown by <c>kubectl get</c>; order follows <see cref="Order"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class PrinterColumnAttribute(int order, string name, string type, string jsonPath) : Attribute
{
    public int Order { get; } = order;

    public string Name { get; } = name;

    /// <summary>integer, number, string, boolean or date.</summary>
    public string Type { get; } = type;

    public string JsonPath { get; } = jsonPath;

    public string? Description { get; init; }

    /// <summary>0 shows the column always; higher priorities only with <c>-o wide</c>.</summary>
    public int Priority { get; init; }
}
