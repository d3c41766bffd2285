using System.Net;
using System.Net.Sockets;

namespace WarpDrive.Mount.Tests;

/// <summary>
/// What a new user meets in the agent's first hour: its log (scrapes do not flood it, the config dump is
/// readable, a taken metrics port is one line and the mount still serves), new files in a source appearing on
/// demand (SIGHUP, POST /admin/drop-caches), and what df says about the mount.
/// </summary>
[NonParallelizable]
public sealed class FirstHourTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(20) };

    [TestCase("Information", false)]
    [TestCase("Debug", true)]
    public async Task ScrapesLogAspNetRequestLinesOnlyAtDebug(string level, bool expectRequestLines)
    {
        using var sandbox = new TestSandbox();
        var port = FreePort();
        var config = AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", sandbox.CreateSource("data"))) with { MetricsAddr = $"127.0.0.1:{port}" };
        await using var agent = await AgentProcess.StartMountedAsync(sandbox, config, "--log-level", level);
        var before = agent.Stderr.Length;

        for (var i = 0; i < 3; i++)
        {
            Assert.That((await Http.GetAsync(new Uri($"http://127.0.0.1:{port}/metrics"))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That((await Http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        // "Request finished" is ASP.NET Core's last line per request; SIGTERM and the wait for exit flush the log.
        agent.Signal(AgentProcess.SIGTERM);
        Assert.That(await agent.WaitForExitAsync(), Is.Zero, agent.Stderr);
        var duringScrapes = agent.Stderr[before..];
        if (expectRequestLines)
        {
            Assert.That(duringScrapes, Does.Contain("Request finished"), "at Debug the requests are visible");
        }
        else
        {
            Assert.That(duringScrapes, Does.Not.Contain("Request starting").And.Not.Contain("Request finished").And.Not.Contain("Executing endpoint"));
        }
    }

    [Test]
    public async Task TextLogShowsTheConfigurationOneSectionPerLine()
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        await using var agent = await AgentProcess.StartMountedAsync(sandbox, AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", source)));

        var lines = agent.Stderr.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        var start = lines.FindIndex(l => l.Contains("starting with configuration from", StringComparison.Ordinal));
        Assert.That(start, Is.GreaterThanOrEqualTo(0), agent.Stderr);
        var dump = lines.Skip(start + 1).TakeWhile(l => l.StartsWith("    ", StringComparison.Ordinal)).Select(l => l.Trim()).ToList();
        Assert.That(dump, Does.Contain($"mount_point: {sandbox.MountPoint}"));
        Assert.That(dump, Does.Contain("cache:").And.Contain("backends:").And.Contain("metrics:"));
        Assert.That(dump, Does.Contain($"config: {{root: {source}}}"));
    }

    [Test]
    public async Task MetricsPortInUseIsOneLineAndTheMountStillServes()
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        await File.WriteAllTextAsync(Path.Combine(source, "a.txt"), "still served");
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var config = AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", source)) with { MetricsAddr = $"127.0.0.1:{port}" };
        await using var agent = await AgentProcess.StartMountedAsync(sandbox, config);

        Assert.That(await File.ReadAllTextAsync(Path.Combine(sandbox.MountPoint, "data", "a.txt")), Is.EqualTo("still served"));
        var portLines = agent.Stderr.Split('\n').Where(l => l.Contains($"{port}", StringComparison.Ordinal) && !l.StartsWith("    ", StringComparison.Ordinal)).ToList();
        Assert.That(portLines, Has.Count.EqualTo(1), agent.Stderr);
        Assert.That(portLines[0], Does.Contain($"metrics.addr 127.0.0.1:{port}: cannot serve /metrics and /healthz: the port is already in use"));
        Assert.That(agent.Stderr, Does.Not.Contain("Exception").And.Not.Contain("   at ").And.Not.Contain("Hosting failed"));
    }

    [Test]
    public async Task SighupShowsFilesAddedToTheSourceAtTheNextListing()
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        await File.WriteAllTextAsync(Path.Combine(source, "old.txt"), "old");
        // An hour-long listing cache: without a drop the new file could not show up during the test.
        var config = AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", source)) with { DirCacheTtl = "1h" };
        await using var agent = await AgentProcess.StartMountedAsync(sandbox, config);
        var mounted = Path.Combine(sandbox.MountPoint, "data");
        Assert.That(ListNames(mounted), Is.EqualTo(new[] { "old.txt" }));

        await File.WriteAllTextAsync(Path.Combine(source, "new.txt"), "uploaded just now");
        Assert.That(ListNames(mounted), Is.EqualTo(new[] { "old.txt" }), "the listing is cached (the premise of this test)");
        agent.Signal(AgentProcess.SIGHUP);
        await WaitForLogAsync(agent, "SIGHUP: dropped cached listings");

        Assert.That(ListNames(mounted), Is.EqualTo(new[] { "new.txt", "old.txt" }));
        Assert.That(await File.ReadAllTextAsync(Path.Combine(mounted, "new.txt")), Is.EqualTo("uploaded just now"));
        Assert.That(agent.HasExited, Is.False, "SIGHUP must not stop the agent");
    }

    [Test]
    public async Task DropCachesEndpointShowsNewFilesAndAnswersLoopbackOnly()
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        var port = FreePort();
        var config = AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", source)) with { DirCacheTtl = "1h", MetricsAddr = $":{port}" };
        await using var agent = await AgentProcess.StartMountedAsync(sandbox, config);
        var mounted = Path.Combine(sandbox.MountPoint, "data");
        Assert.That(ListNames(mounted), Is.Empty);
        await File.WriteAllTextAsync(Path.Combine(source, "new.txt"), "x");
        Assert.That(ListNames(mounted), Is.Empty, "the listing is cached (the premise of this test)");

        using var response = await Http.PostAsync(new Uri($"http://127.0.0.1:{port}/admin/drop-caches"), null);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await response.Content.ReadAsStringAsync());
        Assert.That(ListNames(mounted), Is.EqualTo(new[] { "new.txt" }));
        if (NonLoopbackAddress() is { } external)
        {
            using var fromOutside = await Http.PostAsync(new Uri($"http://{external}:{port}/admin/drop-caches"), null);
            Assert.That(fromOutside.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        }
    }

    [Test]
    public async Task DfReportsTheBlockCacheSizeAndUse()
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        var content = new byte[3 * 1024 * 1024];
        new Random(16).NextBytes(content);
        await File.WriteAllBytesAsync(Path.Combine(source, "blob.bin"), content);
        // Through the block cache (a local disk would be served in place and never fill it).
        var config = AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", source)) with
        {
            CacheMaxSize = "256MiB",
            ExtraBackendConfig = ["serve_in_place: false"],
        };
        await using var agent = await AgentProcess.StartMountedAsync(sandbox, config);

        var empty = new DriveInfo(sandbox.MountPoint);
        Assert.That(empty.TotalSize, Is.EqualTo(256L * 1024 * 1024), "df Size = cache.max_size");
        Assert.That(empty.AvailableFreeSpace, Is.EqualTo(empty.TotalSize), "nothing cached yet");

        Assert.That(await File.ReadAllBytesAsync(Path.Combine(sandbox.MountPoint, "data", "blob.bin")), Is.EqualTo(content));
        long used = 0;
        for (var i = 0; i < 200 && used < content.Length; i++)
        {
            var drive = new DriveInfo(sandbox.MountPoint);
            used = drive.TotalSize - drive.AvailableFreeSpace;
            await Task.Delay(50);
        }

        Assert.That(used, Is.GreaterThanOrEqualTo(content.Length).And.LessThanOrEqualTo(256L * 1024 * 1024), "df Used = cached bytes");
    }

    private static string[] ListNames(string directory) =>
        Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    private static async Task WaitForLogAsync(AgentProcess agent, string text)
    {
        for (var i = 0; i < 200 && !agent.Stderr.Contains(text, StringComparison.Ordinal); i++)
        {
            await Task.Delay(50);
        }

        Assert.That(agent.Stderr, Does.Contain(text));
    }

    private static IPAddress? NonLoopbackAddress() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
