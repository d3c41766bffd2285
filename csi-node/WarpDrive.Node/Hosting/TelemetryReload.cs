using System.Text.Json;
using Microsoft.Extensions.Logging;
using WarpDrive.Config;
using WarpDrive.Telemetry;
using WarpDrive.Telemetry.Identity;

namespace WarpDrive.Node.Hosting;

/// <summary>
/// CSI mode: when a reloaded node config's <c>telemetry:</c> section differs from the one in use, a new pipeline
/// is built and swapped in under the mounted trees; the old one drains to its sink. A section that cannot be used
/// (e.g. grpc without a URL) is logged and the old pipeline keeps recording. Called by the config watcher, one
/// reload at a time.
/// </summary>
internal sealed class TelemetryReload(SwitchableAccessRecorder recorder, TelemetrySettings initial, IPodResolver pods, ILoggerFactory loggers)
{
    private readonly ILogger _logger = loggers.CreateLogger<TelemetryReload>();
    private string _current = Fingerprint(initial);

    public async Task ApplyAsync(TelemetrySettings settings)
    {
        var fingerprint = Fingerprint(settings);
        if (fingerprint == _current)
        {
            return;
        }

        IAccessRecorder next;
        try
        {
            next = TelemetryPipeline.Create(settings, loggers, pods);
        }
        catch (Exception e) when (e is ConfigException or ArgumentException or UriFormatException)
        {
            _logger.LogError("the reloaded telemetry settings cannot be used, the previous ones stay: {Error}", e.Message);
            return;
        }

        await recorder.SwapAsync(next).ConfigureAwait(false);
        _current = fingerprint;
        _logger.LogInformation("telemetry settings reloaded: sink {Sink}{Target}", settings.Enabled ? settings.Sink : "off",
            settings.Enabled && settings.HttpUrl.Length > 0 ? " at " + settings.HttpUrl : "");
    }

    /// <summary>Every setting, by value (the settings class has no equality of its own); holds paths, never secrets.</summary>
    private static string Fingerprint(TelemetrySettings settings) => JsonSerializer.Serialize(settings);
}
