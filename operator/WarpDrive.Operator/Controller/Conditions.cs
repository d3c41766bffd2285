using WarpDrive.Operator.Resources;

namespace WarpDrive.Operator.Controller;

/// <summary>
/// metav1.Condition bookkeeping: a condition's <c>lastTransitionTime</c> moves only when its status changes, so
/// re-reconciling an unchanged object writes an identical status (and triggers no watch event).
/// </summary>
public static class Conditions
{
    public static List<StatusCondition> Merge(IEnumerable<StatusCondition>? previous, IEnumerable<StatusCondition> desired, DateTime now)
    {
        var old = (previous ?? []).ToDictionary(c => c.Type, StringComparer.Ordinal);
        var merged = new List<StatusCondition>();
        foreach (var condition in desired)
        {
            var transition = old.TryGetValue(condition.Type, out var before) && before.Status == condition.Status
                ? before.LastTransitionTime
                : now;
            merged.Add(new StatusCondition
            {
                Type = condition.Type,
                Status = condition.Status,
                Reason = condition.Reason,
                Message = condition.Message,
                ObservedGeneration = condition.ObservedGeneration,
                LastTransitionTime = TruncateToSeconds(transition),
            });
        }

        return merged;
    }

    public static StatusCondition? Find(IEnumerable<StatusCondition>? conditions, string type) =>
        conditions?.FirstOrDefault(c => c.Type == type);

    public static bool IsTrue(IEnumerable<StatusCondition>? conditions, string type) => Find(conditions, type)?.Status == "True";

    public static StatusCondition Make(string type, bool? status, string reason, string message, long? generation) => new()
    {
        Type = type,
        Status = status switch { true => "True", false => "False", null => "Unknown" },
        Reason = reason,
        Message = message,
        ObservedGeneration = generation,
    };

    /// <summary>The API server stores RFC 3339 seconds; comparing with what it returns needs the same precision.</summary>
    public static DateTime TruncateToSeconds(DateTime time) =>
        new(time.Ticks - (time.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
}
