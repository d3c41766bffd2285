using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using WarpDrive.ControlPlane.Auth;
using WarpDrive.ControlPlane.Crawling;
using WarpDrive.ControlPlane.Quotas;
using WarpDrive.ControlPlane.Store;
using static WarpDrive.ControlPlane.Api.RequestReader;

namespace WarpDrive.ControlPlane.Api;

/// <summary>The REST contract v1 (docs: /tmp/governance-api.md, mirrored in this project's README).</summary>
internal sealed class GovernanceApi(IGovernanceStore store, Ingestion ingestion, StorageCrawler crawler, QuotaMonitor quotas, ILogger<GovernanceApi> logger)
{    private static readonly string[] ReadRoles = [Roles.Reader, Roles.Admin];

    public void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1");
        Get(api, "/usage", UsageAsync);
        Get(api, "/stale", StaleAsync);
        Get(api, "/growth", GrowthAsync);
        Get(api, "/quota", QuotasAsync);
        Get(api, "/user/{userId}", UserAsync);
        Get(api, "/backends", BackendsAsync);
        Get(api, "/crawl/{crawlId}", CrawlStatusAsync);
        // For the dashboard (and anyone charting): time series, drill-downs, node reports, a CSV of stale objects.
        Get(api, "/usage/daily", UsageDailyAsync);
        Get(api, "/team/{team}/users", TeamUsersAsync);
        Get(api, "/team/{team}/objects", TeamObjectsAsync);
        Get(api, "/top", TopAsync);
        Get(api, "/nodes", NodesAsync);
        Get(api, "/stale/export", StaleExportAsync);
        // Any valid token may ask who it is (the dashboard hides admin actions from readers by it).
        api.MapGet("/whoami", Guard(WhoAmIAsync)).WithMetadata(new RequireRolesAttribute([.. Roles.All]));
        api.MapPost("/ingest", Guard(IngestAsync)).WithMetadata(new RequireRolesAttribute(Roles.Agent));
        api.MapPost("/team", Guard(TeamAsync)).WithMetadata(new RequireRolesAttribute(Roles.Admin));
        api.MapPut("/quota", Guard(PutQuotaAsync)).WithMetadata(new RequireRolesAttribute(Roles.Admin));
        api.MapPost("/crawl", Guard(CrawlAsync)).WithMetadata(new RequireRolesAttribute(Roles.Admin));
        // A read-only question: readers may ask it, and node agents do before they run a WarpCacheWarm with a team.
        api.MapPost("/warm/check", Guard(WarmCheckAsync)).WithMetadata(new RequireRolesAttribute([.. ReadRoles, Roles.Agent]));
        app.MapGet("/healthz", (Delegate)HealthAsync);
    }

    private void Get(RouteGroupBuilder api, string pattern, Func<HttpContext, Task<IResult>> handler) =>
        api.MapGet(pattern, Guard(handler)).WithMetadata(new RequireRolesAttribute(ReadRoles));

    /// <summary>Turns refusals into 400 problem details; anything unexpected is logged and answered without internals.</summary>
    private RequestDelegate Guard(Func<HttpContext, Task<IResult>> handler) => async context =>
    {
        IResult result;
        try
        {
            result = await handler(context).ConfigureAwait(false);
        }
        catch (ValidationException e)
        {
            result = Problems.BadRequest(e.Parameter, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The exception may quote SQL or connection details: log its type and message server-side only.
            logger.LogError("request {Path} failed: {Type}: {Message}", context.Request.Path, e.GetType().Name, e.Message);
            result = Problems.Result(StatusCodes.Status500InternalServerError, "Internal Server Error", "the request failed; see the control plane log");
        }

        await result.ExecuteAsync(context).ConfigureAwait(false);
    };

    private static JsonHttpResult<T> Ok<T>(T value) => TypedResults.Json(value, Json.Options);

    private async Task<IResult> IngestAsync(HttpContext context)
    {
        var body = await BodyAsync<IngestRequest>(context.Request).ConfigureAwait(false);
        var result = await ingestion.IngestAsync(body.Events, context.Request.Headers["Idempotency-Key"].ToString(), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Json(new { accepted = result.Accepted }, Json.Options, statusCode: StatusCodes.Status202Accepted);
    }

    private async Task<IResult> UsageAsync(HttpContext context)
    {
        var request = context.Request;
        OnlyParameters(request, "group_by", "backend", "since", "until", "limit", "cursor");
        var until = Time(request, "until", DateTimeOffset.UtcNow);
        var since = Time(request, "since", until.AddDays(-30));
        if (since > until)
        {
            throw new ValidationException("since", "must not be after until");
        }

        var page = await store.UsageAsync(Choice(request, "group_by", "user", "team", "user"), OptionalName(request, "backend"), since, until,
            Limit(request), Cursor(request), context.RequestAborted).ConfigureAwait(false);
        return Ok(page);
    }

    private async Task<IResult> StaleAsync(HttpContext context)
    {
        var request = context.Request;
        OnlyParameters(request, "days", "min_size", "backend", "order", "limit", "cursor");
        var days = Long(request, "days", 90, 0, 36_500);
        var page = await store.StaleAsync(DateTimeOffset.UtcNow.AddDays(-days), Long(request, "min_size", 0, 0, long.MaxValue),
            OptionalName(request, "backend"), NewestFirst(request), Limit(request), Cursor(request), context.RequestAborted).ConfigureAwait(false);
        return Ok(page);
    }

    private static bool NewestFirst(HttpRequest request) => Choice(request, "order", "oldest", "oldest", "newest") == "newest";

    /// <summary>
    /// The stale list as CSV, streamed page by page (keyset pages of <see cref="MaxLimit"/>), so neither side holds the
    /// whole list; at most <see cref="MaxExportRows"/> rows (the answer says so in its last line when it stops there).
    /// </summary>
    private async Task<IResult> StaleExportAsync(HttpContext context)
    {
        var request = context.Request;
        OnlyParameters(request, "days", "min_size", "backend", "order");
        var days = Long(request, "days", 90, 0, 36_500);
        var before = DateTimeOffset.UtcNow.AddDays(-days);
        var minSize = Long(request, "min_size", 0, 0, long.MaxValue);
        var backend = OptionalName(request, "backend");
        var newestFirst = NewestFirst(request);
        // The first page is read before the answer starts, so a failing query is still a problem answer, not a cut CSV.
        var page = await store.StaleAsync(before, minSize, backend, newestFirst, MaxLimit, null, context.RequestAborted).ConfigureAwait(false);
        return new CsvStream($"stale-{days}d.csv", async (writer, ct) =>
        {
            await writer.WriteLineAsync("backend,path,size_bytes,last_access,last_modified").ConfigureAwait(false);
            var rows = 0;
            while (true)
            {
                foreach (var o in page.Items)
                {
                    await writer.WriteLineAsync(string.Join(',', Csv.Field(o.Backend), Csv.Field(o.Path), Csv.Invariant(o.Size),
                        o.LastAccess is { } access ? Csv.Time(access) : "", Csv.Time(o.LastModified))).ConfigureAwait(false);
                }

                rows += page.Items.Count;
                if (page.NextCursor is null)
                {
                    return;
                }

                if (rows >= MaxExportRows)
                {
                    await writer.WriteLineAsync($"# stopped after {MaxExportRows} rows; narrow the export with min_size or backend").ConfigureAwait(false);
                    return;
                }

                await writer.FlushAsync(ct).ConfigureAwait(false);
                page = await store.StaleAsync(before, minSize, backend, newestFirst, MaxLimit, page.NextCursor, ct).ConfigureAwait(false);
            }
        });
    }

    /// <summary>The most rows one CSV export streams (about 150 MB of CSV at typical path lengths).</summary>
    public const int MaxExportRows = 1_000_000;

    private async Task<IResult> UsageDailyAsync(HttpContext context)
    {
        var request = context.Request;
        OnlyParameters(request, "group_by", "backend", "since", "until", "limit", "cursor");
        var (since, until) = Window(request);
        return Ok(await store.UsageDailyAsync(Choice(request, "group_by", "team", "team", "user"), OptionalName(request, "backend"), since, until,
            Limit(request), Cursor(request), context.RequestAborted).ConfigureAwait(false));
    }

    private async Task<IResult> TeamUsersAsync(HttpContext context)
    {
        var request = context.Request;
        OnlyParameters(request, "backend", "since", "until", "limit", "cursor");
        var team = Name("team", request.RouteValues["team"] as string);
        var (since, until) = Window(request);
        return Ok(await store.TeamUsersAsync(team, OptionalName(request, "backend"), since, until, Limit(request), Cursor(request), context.RequestAborted)
            .ConfigureAwait(false));
    }

    private async Task<IResult> TeamObjectsAsync(HttpContext context)
    {
        OnlyParameters(context.Request, "limit", "cursor");
        var team = Name("team", context.Request.RouteValues["team"] as string);
        return Ok(await store.TeamObjectsAsync(team, Limit(context.Request), Cursor(context.Request), context.RequestAborted).ConfigureAwait(false));
    }

    private async Task<IResult> TopAsync(HttpContext context)
    {
        OnlyParameters(context.Request, "limit");
        var items = await store.TopObjectsAsync((int)Long(context.Request, "limit", 10, 1, 100), context.RequestAborted).ConfigureAwait(false);
        return Ok(new { items });
    }

    private async Task<IResult> NodesAsync(HttpContext context)
    {
        OnlyParameters(context.Request, "days", "limit", "cursor");
        var days = Long(context.Request, "days", 7, 1, 3650);
        return Ok(await store.NodesAsync(DateTimeOffset.UtcNow.AddDays(-days), Limit(context.Request), Cursor(context.Request), context.RequestAborted)
            .ConfigureAwait(false));
    }

    private static Task<IResult> WhoAmIAsync(HttpContext context)
    {
        var principal = (TokenPrincipal)context.Items[BearerAuthMiddleware.PrincipalKey]!;
        return Task.FromResult<IResult>(Ok(new { name = principal.Name, role = principal.Role }));
    }

    /// <summary>since/until with the contract's defaults (the last 30 days), since not after until.</summary>
    private static (DateTimeOffset Since, DateTimeOffset Until) Window(HttpRequest request)
    {
        var until = Time(request, "until", DateTimeOffset.UtcNow);
        var since = Time(request, "since", until.AddDays(-30));
        return since > until ? throw new ValidationException("since", "must not be after until") : (since, until);
    }

    private async Task<IResult> GrowthAsync(HttpContext context)
    {
        var request = context.Request;
        OnlyParameters(request, "backend", "period", "limit", "cursor");
        var period = Long(request, "period", 30, 1, 3650);
        var page = await store.GrowthAsync(OptionalName(request, "backend"), DateTimeOffset.UtcNow.AddDays(-period), Limit(request), Cursor(request),
            context.RequestAborted).ConfigureAwait(false);
        return Ok(page);
    }

    private async Task<IResult> TeamAsync(HttpContext context)
    {
        var body = await BodyAsync<TeamRequest>(context.Request).ConfigureAwait(false);
        var team = Name("team", body.Team);
        var users = body.Users ?? throw new ValidationException("users", "is required");
        for (var i = 0; i < users.Count; i++)
        {
            Name($"users[{i}]", users[i]);
        }

        await store.SetTeamAsync(team, users, context.RequestAborted).ConfigureAwait(false);
        await quotas.RefreshAsync(null, context.RequestAborted).ConfigureAwait(false);
        return Ok(new { team, users });
    }

    private async Task<IResult> QuotasAsync(HttpContext context)
    {
        OnlyParameters(context.Request, "limit", "cursor");
        return Ok(await store.QuotasAsync(Limit(context.Request), Cursor(context.Request), context.RequestAborted).ConfigureAwait(false));
    }

    private async Task<IResult> PutQuotaAsync(HttpContext context)
    {
        var body = await BodyAsync<QuotaRequest>(context.Request).ConfigureAwait(false);
        var team = Name("team", body.Team);
        var backend = Name("backend", body.Backend);
        var soft = NonNegative("soft_bytes", body.SoftBytes);
        var hard = NonNegative("hard_bytes", body.HardBytes);
        if (soft > hard)
        {
            throw new ValidationException("soft_bytes", "must not be greater than hard_bytes");
        }

        await store.PutQuotaAsync(team, backend, soft, hard, context.RequestAborted).ConfigureAwait(false);
        await quotas.RefreshAsync([backend], context.RequestAborted).ConfigureAwait(false);
        return Ok(await store.QuotaAsync(team, backend, context.RequestAborted).ConfigureAwait(false));
    }

    private async Task<IResult> UserAsync(HttpContext context)
    {
        OnlyParameters(context.Request, "since", "until");
        var user = Name("userId", context.Request.RouteValues["userId"] as string);
        var until = Time(context.Request, "until", DateTimeOffset.UtcNow);
        var since = Time(context.Request, "since", until.AddDays(-30));
        return Ok(await store.UserAsync(user, since, until, context.RequestAborted).ConfigureAwait(false));
    }

    private async Task<IResult> BackendsAsync(HttpContext context)
    {
        OnlyParameters(context.Request, "limit", "cursor");
        return Ok(await store.BackendsAsync(Limit(context.Request), Cursor(context.Request), context.RequestAborted).ConfigureAwait(false));
    }

    private async Task<IResult> CrawlAsync(HttpContext context)
    {
        var body = context.Request.ContentLength is 0 ? new CrawlRequest(null) : await BodyAsync<CrawlRequest>(context.Request).ConfigureAwait(false);
        var backend = body.Backend is null ? null : Name("backend", body.Backend);
        if (backend is not null && !crawler.Knows(backend))
        {
            throw new ValidationException("backend", "is not a configured backend");
        }

        var id = crawler.Request(backend);
        logger.LogInformation("crawl {CrawlId} requested for {Backend}", id, backend ?? "all backends");
        return TypedResults.Json(new { crawl_id = id }, Json.Options, statusCode: StatusCodes.Status202Accepted);
    }

    private async Task<IResult> CrawlStatusAsync(HttpContext context)
    {
        OnlyParameters(context.Request);
        var id = Name("crawlId", context.Request.RouteValues["crawlId"] as string, 64);
        var status = await store.CrawlStatusAsync(id, context.RequestAborted).ConfigureAwait(false);
        return status is null
            ? Ok(new CrawlStatus(id, "queued", [], null))
            : Ok(status);
    }

    private async Task<IResult> WarmCheckAsync(HttpContext context)
    {
        var body = await BodyAsync<WarmCheckRequest>(context.Request).ConfigureAwait(false);
        var (allowed, reason) = await quotas.CheckWarmAsync(Name("team", body.Team), Name("backend", body.Backend), NonNegative("bytes", body.Bytes),
            context.RequestAborted).ConfigureAwait(false);
        return Ok(new { allowed, reason });
    }

    private async Task<IResult> HealthAsync(HttpContext context)
    {
        try
        {
            await store.PingAsync(context.RequestAborted).ConfigureAwait(false);
            return Ok(new { status = "ok", checks = new { database = "ok" } });
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("health check: database unreachable: {Type}", e.GetType().Name);
            return TypedResults.Json(new { status = "unhealthy", checks = new { database = "unreachable" } }, Json.Options, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }
}
