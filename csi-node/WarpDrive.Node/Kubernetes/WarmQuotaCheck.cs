using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using WarpDrive.Backends;
using WarpDrive.Config;

namespace WarpDrive.Node.Kubernetes;

/// <summary>
/// A warm job with <c>spec.team</c> asks the control plane first (<c>POST /api/v1/warm/check</c>, with the agent's
/// token) whether the team may bring the job's bytes into node caches. The control plane is the one the node sends
/// its access events to (<c>telemetry.sink: http</c>, as the operator renders it); without one the job cannot be
/// checked, so it fails rather than run unchecked. Asked once per job run, so a client per call is fine.
/// </summary>
public static class WarmQuotaCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    /// <summary>Null when the job may run; otherwise why not (never holds the token).</summary>
    public static async Task<string?> RefusalAsync(TelemetrySettings telemetry, string team, IBackend backend, IEnumerable<string> paths, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(telemetry);
        ArgumentNullException.ThrowIfNull(backend);
        if (!telemetry.Enabled || telemetry.Sink != TelemetrySinks.Http || telemetry.HttpUrl.Length == 0)
        {
            return $"spec.team \"{team}\" needs the control plane, and this node sends it nothing (no telemetry.sink: http in its config; is the operator's control plane enabled?)";
        }

        long bytes = 0;
        foreach (var path in paths)
        {
            await foreach (var entry in backend.ListAsync(path.Trim('/'), recursive: true, cancellationToken).ConfigureAwait(false))
            {
                bytes += entry.IsDirectory ? 0 : entry.Size;
            }
        }

        bytes = Math.Min(bytes, maxBytes);
        using var http = new HttpClient { BaseAddress = new Uri(telemetry.HttpUrl.TrimEnd('/') + "/"), Timeout = Timeout };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/warm/check")
        {
            Content = JsonContent.Create(new Dictionary<string, object> { ["team"] = team, ["backend"] = backend.Name, ["bytes"] = bytes }),
        };
        if (telemetry.TokenFile.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(telemetry.TokenFile, cancellationToken).ConfigureAwait(false)).Trim());
        }

        try
        {
            using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return $"the control plane did not answer the quota check of team \"{team}\": HTTP {(int)response.StatusCode}";
            }

            var answer = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
            return answer.TryGetProperty("allowed", out var allowed) && allowed.ValueKind == JsonValueKind.True
                ? null
                : $"refused by team \"{team}\"'s quota on {backend.Name} (this warm: up to {bytes.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} bytes): " +
                  (answer.TryGetProperty("reason", out var reason) ? reason.GetString() : "hard limit");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // Our own words: the message of an HttpRequestException is .NET's and goes into a user-visible status.
            return e is TaskCanceledException
                ? $"the control plane at {telemetry.HttpUrl} did not answer the quota check of team \"{team}\" within {Timeout.TotalSeconds:0} s"
                : $"cannot reach the control plane at {telemetry.HttpUrl} for the quota check of team \"{team}\"";
        }
    }
}
