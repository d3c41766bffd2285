using System.CommandLine;
using System.Text.Json;
using WarpDrive.Ctl.Infrastructure;

namespace WarpDrive.Ctl.Commands;

/// <summary><c>status</c>: the agent's and the control plane's /healthz side by side; exit 1 when either is not ok.</summary>
internal static class StatusCommand
{
    public static Command Create(GlobalOptions g)
    {
        var agent = new Option<string>("--agent") { Description = $"Agent metrics/health URL (default {StatsCommand.DefaultAgent}).", DefaultValueFactory = _ => StatsCommand.DefaultAgent };
        var command = new Command("status", "Health of the node agent (and its mount) and of the control plane.") { agent };
        command.SetAction(async (parsed, ct) =>
        {
            var terminal = Terminal.Create(parsed.GetValue(g.NoColor));
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            var agentRow = await CheckAsync(http, "agent", parsed.GetValue(agent)!, ct);
            var server = parsed.GetValue(g.Server)!;
            var controlPlaneRow = await CheckAsync(http, "control-plane", server, ct);
            // A node without a control plane is normal (it is optional): unless one was named, nothing answering at
            // the default address means "not configured", which is not a failure.
            var controlPlaneCounts = g.ServerGiven(parsed) || Status(controlPlaneRow) != "unreachable";
            if (!controlPlaneCounts)
            {
                controlPlaneRow = Row("control-plane", server, NotConfigured, "none at the default address; name one with --server or WARPDRIVE_SERVER");
            }

            ResultWriter.Write(terminal, parsed.GetValue(g.Format), [agentRow, controlPlaneRow],
            [
                new("COMPONENT", "component"),
                new("URL", "url"),
                new("STATUS", "status"),
                new("DETAIL", "detail"),
            ]);
            var healthy = Status(agentRow) == "ok" && (!controlPlaneCounts || Status(controlPlaneRow) == "ok");
            return healthy ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return command;
    }

    public const string NotConfigured = "not configured";

    private static string? Status(JsonElement row) => row.GetProperty("status").GetString();

    private static JsonElement Row(string component, string url, string status, string detail) =>
        JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["component"] = component, ["url"] = url, ["status"] = status, ["detail"] = detail });

    private static async Task<JsonElement> CheckAsync(HttpClient http, string component, string url, CancellationToken ct)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return Row(component, url, "unreachable", "not an http(s) URL");
        }

        string status;
        string detail;
        try
        {
            using var response = await http.GetAsync(new Uri(uri, "/healthz"), ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            (status, detail) = Describe(response.IsSuccessStatusCode, body);
        }
        catch (HttpRequestException e)
        {
            (status, detail) = ("unreachable", e.Message);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            (status, detail) = ("unreachable", "no answer within 10 s");
        }

        return Row(component, url, status, detail);
    }

    /// <summary>The reported status and every check as <c>name=state</c> (with the error of a failing one): the agent's fuse_mount check names the mount.</summary>
    internal static (string Status, string Detail) Describe(bool success, string body)
    {
        try
        {
            var root = JsonDocument.Parse(body).RootElement;
            var status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : success ? "ok" : "degraded";
            if (!success && status == "ok")
            {
                status = "degraded";
            }

            var checks = new List<string>();
            if (root.TryGetProperty("checks", out var c) && c.ValueKind == JsonValueKind.Object)
            {
                foreach (var check in c.EnumerateObject())
                {
                    checks.Add(check.Value.ValueKind switch
                    {
                        JsonValueKind.String => $"{check.Name}={check.Value.GetString()}",
                        JsonValueKind.Object => $"{check.Name}={Text(check.Value, "status")}{(Text(check.Value, "error") is { Length: > 0 } err ? $" ({err})" : "")}",
                        _ => $"{check.Name}={check.Value.GetRawText()}",
                    });
                }
            }

            return (status, string.Join(", ", checks));
        }
        catch (JsonException)
        {
            return (success ? "ok" : "degraded", success ? "" : "unexpected answer");
        }
    }

    private static string Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
}
