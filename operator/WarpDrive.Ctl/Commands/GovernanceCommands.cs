using System.CommandLine;
using WarpDrive.Ctl.Infrastructure;

namespace WarpDrive.Ctl.Commands;

/// <summary><c>usage</c>, <c>stale</c> and <c>quota set|list</c>: thin views over the control plane's REST API.</summary>
internal static class GovernanceCommands
{
    public static Command Usage(GlobalOptions g)
    {
        var groupBy = new Option<string>("--group-by") { Description = "Group by team or user.", DefaultValueFactory = _ => "team" };
        groupBy.AcceptOnlyFromAmong("team", "user");
        var backend = new Option<string?>("--backend") { Description = "Only this backend." };
        var since = new Option<string?>("--since") { Description = "From this time (RFC 3339)." };
        var until = new Option<string?>("--until") { Description = "Until this time (RFC 3339)." };
        var limit = LimitOption();
        var command = new Command("usage", "Bytes read, reads, cache hit ratio and files per team or user.") { groupBy, backend, since, until, limit };
        command.SetAction((parsed, ct) => Run(g, parsed, async (client, terminal, format) =>
        {
            var items = await client.ListAsync("/api/v1/usage",
                new Dictionary<string, string?> { ["group_by"] = parsed.GetValue(groupBy), ["backend"] = parsed.GetValue(backend), ["since"] = parsed.GetValue(since), ["until"] = parsed.GetValue(until) },
                parsed.GetValue(limit), ct);
            ResultWriter.Write(terminal, format, items,
            [
                new(parsed.GetValue(groupBy) == "user" ? "USER" : "TEAM", "group"),
                new("BYTES READ", "bytes_read", ResultWriter.SizeCell("bytes_read"), true),
                new("READS", "reads", null, true),
                new("HIT RATIO", "cache_hit_ratio", ResultWriter.PercentCell("cache_hit_ratio"), true),
                new("FILES", "files", null, true),
            ]);
        }));
        return command;
    }

    public static Command Stale(GlobalOptions g)
    {
        var days = Counts.Option("--days", "Not read for this many days (or never).", 90, 0, 36_500);
        var minSize = Sizes.Option("--min-size", "Only objects at least this big");
        var backend = new Option<string?>("--backend") { Description = "Only this backend." };
        var limit = LimitOption();
        var command = new Command("stale", "Objects nobody read for --days days (or ever): candidates for cleanup.") { days, minSize, backend, limit };
        command.SetAction((parsed, ct) => Run(g, parsed, async (client, terminal, format) =>
        {
            var items = await client.ListAsync("/api/v1/stale",
                new Dictionary<string, string?>
                {
                    ["days"] = parsed.GetValue(days).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["min_size"] = parsed.GetValue(minSize)?.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["backend"] = parsed.GetValue(backend),
                },
                parsed.GetValue(limit), ct);
            ResultWriter.Write(terminal, format, items,
            [
                new("BACKEND", "backend"),
                new("PATH", "path"),
                new("SIZE", "size", ResultWriter.SizeCell("size"), true),
                new("LAST ACCESS", "last_access", ResultWriter.OrNever("last_access")),
                new("LAST MODIFIED", "last_modified"),
            ]);
        }));
        return command;
    }

    public static Command Quota(GlobalOptions g)
    {
        var team = new Option<string>("--team") { Description = "Team name.", Required = true };
        var backend = new Option<string?>("--backend") { Description = "Backend name (default: one quota over all backends together, shown as *)." };
        var soft = Sizes.Option("--soft", $"Soft limit: warn above it (default {SoftPercentOfHard}% of --hard)");
        var hard = Sizes.RequiredOption("--hard", "Hard limit: warm jobs are refused above it");
        var set = new Command("set", "Set a team's soft and hard quota on a backend, or over all backends (admin).") { team, backend, soft, hard };
        set.Validators.Add(r =>
        {
            if (r.GetValue(soft) > r.GetValue(hard))
            {
                r.AddError("--soft must not be larger than --hard");
            }
        });
        set.SetAction((parsed, ct) => Run(g, parsed, async (client, terminal, format) =>
        {
            var hardBytes = parsed.GetValue(hard);
            var body = new
            {
                team = parsed.GetValue(team),
                backend = parsed.GetValue(backend) ?? AllBackends,
                soft_bytes = parsed.GetValue(soft) ?? DefaultSoft(hardBytes),
                hard_bytes = hardBytes,
            };
            await client.SendAsync(HttpMethod.Put, "/api/v1/quota", body, ct);
            if (format == OutputFormat.Table)
            {
                terminal.Print($"quota for team {body.team} on {(body.backend == AllBackends ? "all backends" : body.backend)}: soft {Sizes.Format(body.soft_bytes)}, hard {Sizes.Format(body.hard_bytes)}");
            }
            else
            {
                var element = System.Text.Json.JsonSerializer.SerializeToElement(body);
                ResultWriter.Write(terminal, format, [element], QuotaColumns);
            }
        }));

        var limit = LimitOption();
        var list = new Command("list", "Every quota with its usage and state.") { limit };
        list.SetAction((parsed, ct) => Run(g, parsed, async (client, terminal, format) =>
        {
            var items = await client.ListAsync("/api/v1/quota", new Dictionary<string, string?>(), parsed.GetValue(limit), ct);
            ResultWriter.Write(terminal, format, items, QuotaColumns);
        }));

        return new Command("quota", "Per-team, per-backend storage quotas.") { set, list };
    }

    /// <summary>The control plane's backend name for a team's quota over all backends together.</summary>
    public const string AllBackends = "*";

    /// <summary>Without --soft the soft limit is this share of the hard one: a warning well before warms are refused.</summary>
    public const int SoftPercentOfHard = 80;

    internal static long DefaultSoft(long hard) => (long)(hard * (SoftPercentOfHard / 100m));

    private static readonly Column[] QuotaColumns =
    [
        new("TEAM", "team"),
        new("BACKEND", "backend"),
        new("SOFT", "soft_bytes", ResultWriter.SizeCell("soft_bytes"), true),
        new("HARD", "hard_bytes", ResultWriter.SizeCell("hard_bytes"), true),
        new("USED", "used_bytes", ResultWriter.SizeCell("used_bytes"), true),
        new("STATE", "state"),
    ];

    private static Option<int?> LimitOption() => Counts.OptionalOption("--limit", "Show at most this many items (default: all pages).", 1, int.MaxValue);

    private static async Task<int> Run(GlobalOptions g, ParseResult parsed, Func<ControlPlaneClient, Terminal, OutputFormat, Task> body)
    {
        var terminal = Terminal.Create(parsed.GetValue(g.NoColor));
        using var client = new ControlPlaneClient(parsed.GetValue(g.Server)!, parsed.GetValue(g.TokenFile));
        await body(client, terminal, parsed.GetValue(g.Format));
        return ExitCodes.Ok;
    }
}
