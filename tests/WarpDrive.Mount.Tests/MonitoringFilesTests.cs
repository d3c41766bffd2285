using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace WarpDrive.Mount.Tests;

/// <summary>The chart's Grafana dashboard and alert rules only query metrics a real agent exports.</summary>
[NonParallelizable]
public sealed partial class MonitoringFilesTests
{
    [Test]
    public async Task EveryMetricTheDashboardAndAlertsQueryExistsOnTheAgentsMetrics()
    {
        var monitoring = Path.Combine(RepoRoot(), "charts", "warpdrive", "monitoring");
        var queried = new[] { "dashboard.json", "alerts.yaml" }
            .SelectMany(file => MetricName().Matches(File.ReadAllText(Path.Combine(monitoring, file))).Select(m => (File: file, Metric: m.Value)))
            .ToList();
        Assert.That(queried.Select(q => q.File).Distinct(), Has.Exactly(2).Items, "both files query warpdrive metrics");

        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        await File.WriteAllTextAsync(Path.Combine(source, "a.txt"), "metrics");
        var port = FreePort();
        var yaml = $"""
            mount_point: "{sandbox.MountPoint}"
            cache:
              path: "{sandbox.CachePath}"
            metrics:
              enabled: true
              addr: 127.0.0.1:{port}
            telemetry:
              enabled: true
              sink: nop
            backends:
              - name: data
                type: local
                config:
                  root: "{source}"
                  serve_in_place: false # through the block cache, which is what this test is about
            """;
        await using var agent = AgentProcess.Start(sandbox, yaml, sandbox.MountPoint);
        await agent.WaitForMountAsync();
        Assert.That(await File.ReadAllTextAsync(Path.Combine(sandbox.MountPoint, "data", "a.txt")), Is.EqualTo("metrics"));

        using var http = new HttpClient();
        var exported = (await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/metrics")))
            .Split('\n')
            .Where(line => line.StartsWith("warpdrive_", StringComparison.Ordinal))
            .Select(line => line.Split('{', ' ')[0])
            .ToHashSet();

        Assert.Multiple(() =>
        {
            foreach (var (file, metric) in queried.Distinct())
            {
                Assert.That(exported, Does.Contain(metric), $"{file} queries {metric}");
            }
        });
    }

    /// <summary>Metric names as queried, histogram series included (…_bucket is exported as such).</summary>
    [GeneratedRegex("warpdrive_[a-z_]+")]
    private static partial Regex MetricName();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Found from this source file's path, so it works wherever the build output goes.</summary>
    private static string RepoRoot([System.Runtime.CompilerServices.CallerFilePath] string sourceFile = "")
    {
        for (var directory = new FileInfo(sourceFile).Directory; directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "WarpDrive.Operator.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found above " + sourceFile);
    }
}
