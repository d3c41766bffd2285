using System.Net.Http.Headers;
using System.Net.Http.Json;
using NUnit.Framework;
using WarpDrive.ControlPlane;
using WarpDrive.Node.Kubernetes;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>
/// A warm job with spec.team is checked against the team's hard quota by a real control plane (SQLite, real HTTP on
/// loopback), reached the way the operator configures nodes: the telemetry http sink's URL and the agent's token.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class WarmJobQuotaTests
{
    private const string AdminToken = "admin-token-quota";
    private static readonly (string, int)[] Files = [("train/a.bin", 1_500_000), ("train/b.bin", 40_000)];

    [Test]
    public async Task AJobThatWouldPassItsTeamsHardQuotaFailsBeforeFetchingAndOneWithinItRuns()
    {
        var scratch = Directory.CreateTempSubdirectory("warpdrive-quota-").FullName;
        try
        {
            var agentToken = Path.Combine(scratch, "agent.token");
            await File.WriteAllTextAsync(agentToken, "agent-token-quota\n");
            await File.WriteAllTextAsync(Path.Combine(scratch, "admin.token"), AdminToken);
            await File.WriteAllTextAsync(Path.Combine(scratch, "tokens.yaml"), """
                - { name: node-agents, role: agent, token_file: agent.token }
                - { name: ops, role: admin, token_file: admin.token }
                """);
            await using var controlPlane = await ControlPlaneHost.StartAsync(new ControlPlaneOptions
            {
                ListenAddress = "127.0.0.1:0",
                Database = $"sqlite://{Path.Combine(scratch, "cp.db")}",
                TokensFile = Path.Combine(scratch, "tokens.yaml"),
            }, CancellationToken.None);
            using (var admin = new HttpClient { BaseAddress = controlPlane.BaseAddress })
            {
                admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
                var put = await admin.PutAsJsonAsync("api/v1/quota", new { team = "vision", backend = "team-a-data", soft_bytes = 500_000, hard_bytes = 1_100_000 });
                Assert.That(put.IsSuccessStatusCode, Is.True, await put.Content.ReadAsStringAsync());
            }

            await using var fixture = await WarmJobFixture.StartAsync(cacheEnabled: true, settings: $$"""
                telemetry: { enabled: true, sink: http, http_url: "{{controlPlane.BaseAddress}}", token_file: "{{agentToken}}", flush_interval: 1h }
                """, Files);
            fixture.Api.Add(WarmJobFixture.Namespace, "too-big", WarmJobFixture.Source, ["train"], team: "vision");
            var refused = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "too-big", WarmJobFixture.Node);
            fixture.Api.Add(WarmJobFixture.Namespace, "capped", WarmJobFixture.Source, ["train"], maxSize: "1Mi", team: "vision");
            var capped = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "capped", WarmJobFixture.Node);

            Assert.Multiple(() =>
            {
                Assert.That(refused.Phase, Is.EqualTo(WarmNodePhases.Failed));
                Assert.That(refused.Error, Does.StartWith("refused by team \"vision\"'s quota on team-a-data").And.Contain("hard quota exceeded"));
                Assert.That(refused.BytesDone ?? 0, Is.Zero, "nothing was fetched");
                Assert.That(capped.Phase, Is.EqualTo(WarmNodePhases.Succeeded), capped.Error);
                Assert.That(capped.BytesDone, Is.EqualTo(1024 * 1024), "one block, within the 1,100,000-byte hard limit");
            });
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    [Test]
    public async Task AJobWithATeamFailsOnANodeThatKnowsNoControlPlane()
    {
        await using var fixture = await WarmJobFixture.StartAsync(Files);
        fixture.Api.Add(WarmJobFixture.Namespace, "unchecked", WarmJobFixture.Source, ["train"], team: "vision");

        var entry = await fixture.Api.FinalEntryAsync(WarmJobFixture.Namespace, "unchecked", WarmJobFixture.Node);

        Assert.That(entry.Phase, Is.EqualTo(WarmNodePhases.Failed));
        Assert.That(entry.Error, Does.Contain("needs the control plane"));
    }
}
