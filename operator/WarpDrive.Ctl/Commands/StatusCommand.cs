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
            var rows = new List<JsonElement>
            {
                await CheckAsync(http, "agent", parsed.GetValue(agent)!, ct),
                await CheckAsync(http, "control-plane", parsed.GetValue(g.Server)!, ct),
            };
            ResultWriter.Write(terminal, parsed.GetValue(g.Format), rows,
            [
                new("COMPONENT", "component"),
                new("URL", "url"),
                new("STATUS", "status"),
                new("DETAIL", "detail"),
            ]);
            return rows.All(r => r.GetProperty("status").GetString() == "ok") ? ExitCodes.Ok : ExitCodes.Failure;
        });
        return command;
    }

    private static async Task<JsonElement> CheckAsync(HttpClient http, string component, string url, CancellationToken ct)
    {
        string status;
        string detail;
        try
        {
            using var response = await http.GetAsync(new Uri(new Uri(url), "/healthz"), ct);
            var body = await response.Content.ReadAsStringAsync(ct);
            (status, detail) = Describe(response.IsSuccessStatusCode, body);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            (status, detail) = ("unreachable", e.Message);
        }

        return JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["component"] = component, ["url"] = url, ["status"] = status, ["detail"] = detail });
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
