using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using WarpDrive.ControlPlane.Store;

namespace WarpDrive.ControlPlane.Quotas;

/// <summary>
/// Re-evaluates quotas after every change that can move them (ingest, PUT quota) and reports each quota that
/// crosses its soft limit once per crossing: counter <c>warpdrive_quota_soft_exceeded_total{team,backend}</c>
/// and a warning log. Hard limits are enforced where data is warmed: <see cref="CheckWarmAsync"/>.
/// </summary>
public sealed class QuotaMonitor : IDisposable
{
    public const string MeterName = "WarpDrive.ControlPlane";
    public const string SoftExceededCounter = "warpdrive_quota_soft_exceeded_total";

    private readonly IGovernanceStore _store;
    private readonly ILogger _logger;
    private readonly Meter _meter;
    private readonly Counter<long> _softExceeded;

    public QuotaMonitor(IGovernanceStore store, ILogger<QuotaMonitor> logger)
    {
        _store = store;
        _logger = logger;
        _meter = new Meter(MeterName);
        _softExceeded = _meter.CreateCounter<long>(SoftExceededCounter, description: "Times a team's usage on a backend went over its soft quota");
    }

    public async Task RefreshAsync(IReadOnlyCollection<string>? backends, CancellationToken cancellationToken)
    {
        foreach (var (quota, previous) in await _store.RefreshQuotaStatesAsync(backends, cancellationToken).ConfigureAwait(false))
        {
            if (previous == QuotaStates.Ok && quota.State != QuotaStates.Ok)
            {
                _softExceeded.Add(1, new KeyValuePair<string, object?>("team", quota.Team), new KeyValuePair<string, object?>("backend", quota.Backend));
            }

            if (quota.State == QuotaStates.Ok)
            {
                _logger.LogInformation("quota back within limits: team {Team} backend {Backend} used {Used} bytes", quota.Team, quota.Backend, quota.UsedBytes);
            }
            else
            {
                _logger.LogWarning("quota {State}: team {Team} backend {Backend} used {Used} bytes (soft {Soft}, hard {Hard})",
                    quota.State, quota.Team, quota.Backend, quota.UsedBytes, quota.SoftBytes, quota.HardBytes);
            }
        }
    }

    /// <summary>
    /// May <paramref name="team"/> warm <paramref name="bytes"/> more from <paramref name="backend"/>? Both the
    /// team's quota on that backend and its all-backends quota must leave room.
    /// </summary>
    public async Task<(bool Allowed, string Reason)> CheckWarmAsync(string team, string backend, long bytes, CancellationToken cancellationToken)
    {
        var quotas = new List<QuotaRow>();
        string[] names = backend == IGovernanceStore.AllBackends ? [backend] : [backend, IGovernanceStore.AllBackends];
        foreach (var name in names)
        {
            if (await _store.QuotaAsync(team, name, cancellationToken).ConfigureAwait(false) is { } quota)
            {
                quotas.Add(quota);
            }
        }

        if (quotas.Count == 0)
        {
            return (true, $"no quota for team {team} on backend {backend}");
        }

        foreach (var quota in quotas)
        {
            if (quota.UsedBytes + bytes > quota.HardBytes)
            {
                return (false, $"hard quota exceeded: team {team} on {Describe(quota.Backend)} used {quota.UsedBytes} + requested {bytes} bytes > hard limit {quota.HardBytes} bytes");
            }
        }

        return (true, string.Join("; ", quotas.Select(q => $"within hard quota on {Describe(q.Backend)}: used {q.UsedBytes} + requested {bytes} bytes <= hard limit {q.HardBytes} bytes")));
    }

    private static string Describe(string backend) => backend == IGovernanceStore.AllBackends ? "all backends" : $"backend {backend}";

    public void Dispose() => _meter.Dispose();
}
