using WarpDrive.Ctl.Infrastructure;

namespace WarpDrive.Ctl.Commands;

/// <summary>
/// <c>warm --team</c>: before anything is fetched, asks the control plane (<c>POST /api/v1/warm/check</c>) whether
/// the team may bring this many more bytes of the backend into node caches. A refusal, or a control plane that
/// cannot answer, stops the warm: the user asked for the check, so it fails closed.
/// </summary>
internal static class WarmQuotaGate
{
    /// <param name="bytes">What the warm would fetch at most: the prefix's size, capped by --max-size.</param>
    public static async Task CheckAsync(string server, FileInfo? tokenFile, string team, string backend, long bytes, Terminal terminal, CancellationToken cancellationToken)
    {
        using var client = new ControlPlaneClient(server, tokenFile);
        var answer = await client.SendAsync(HttpMethod.Post, "/api/v1/warm/check", new { team, backend, bytes }, cancellationToken);
        if (!answer.TryGetProperty("allowed", out var allowed) || allowed.ValueKind is not (System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False))
        {
            throw new CtlException("POST /api/v1/warm/check: the server's answer has no allowed flag");
        }

        var reason = answer.TryGetProperty("reason", out var r) ? r.GetString() : null;
        if (!allowed.GetBoolean())
        {
            throw new CtlException($"warm refused by team {team}'s quota on {backend}: {reason ?? "hard limit"} (this warm: up to {Sizes.Format(bytes)})");
        }

        terminal.Note($"quota check for team {team} on {backend}: up to {Sizes.Format(bytes)} allowed");
    }
}
