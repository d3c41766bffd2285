using WarpDrive.ControlPlane.Quotas;
using WarpDrive.ControlPlane.Store;
using static WarpDrive.ControlPlane.Api.RequestReader;

namespace WarpDrive.ControlPlane.Api;

/// <summary>
/// One ingest path for both transports (<c>POST /api/v1/ingest</c> and the <c>Ingest/Ingest</c> RPC): validate every
/// event (a <see cref="ValidationException"/> names the first bad field, e.g. <c>events[3].op</c>), store the batch
/// in one transaction, then recompute the quota states of the backends it touched.
/// </summary>
internal sealed class Ingestion(IGovernanceStore store, QuotaMonitor quotas)
{
    public const int MaxEventsPerBatch = 10_000;
    private static readonly string[] Ops = ["read", "stat", "list", "open"];

    public async Task<IngestResult> IngestAsync(IReadOnlyList<AccessEvent?>? events, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (idempotencyKey is { } key && (key.Length > 200 || key.Any(char.IsControl)))
        {
            throw new ValidationException("Idempotency-Key", "must be at most 200 characters without control characters");
        }

        if (events is null)
        {
            throw new ValidationException("events", "is required");
        }

        if (events.Count > MaxEventsPerBatch)
        {
            throw new ValidationException("events", $"at most {MaxEventsPerBatch} events per batch");
        }

        var valid = new List<AccessEvent>(events.Count);
        for (var i = 0; i < events.Count; i++)
        {
            var at = $"events[{i}]";
            var e = events[i] ?? throw new ValidationException(at, "must be an object");
            _ = e.Ts ?? throw new ValidationException($"{at}.ts", "is required (RFC 3339)");
            Name($"{at}.user", e.User);
            Name($"{at}.backend", e.Backend);
            Name($"{at}.path", e.Path, 4096);
            if (!Ops.Contains(e.Op))
            {
                throw new ValidationException($"{at}.op", $"must be one of {string.Join(", ", Ops)}");
            }

            NonNegative($"{at}.bytes_read", e.BytesRead);
            if (e.Count is < 1)
            {
                throw new ValidationException($"{at}.count", "must be at least 1");
            }

            valid.Add(e);
        }

        var result = await store.IngestAsync(valid, string.IsNullOrEmpty(idempotencyKey) ? null : idempotencyKey, cancellationToken).ConfigureAwait(false);
        if (!result.Replayed)
        {
            await quotas.RefreshAsync(result.Backends, cancellationToken).ConfigureAwait(false);
        }

        return result;
    }
}
