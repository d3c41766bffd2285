namespace WarpDrive.Mount.Tests;

/// <summary>How the agent process starts, stops and fails: exit codes, messages, and the mount it leaves (none).</summary>
[NonParallelizable]
public sealed class AgentLifecycleTests
{
    [TestCase(AgentProcess.SIGTERM)]
    [TestCase(AgentProcess.SIGINT)]
    public async Task SignalUnmountsAndExitsZero(int signal)
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        await File.WriteAllTextAsync(Path.Combine(source, "hello.txt"), "hello");
        await using var agent = await AgentProcess.StartMountedAsync(sandbox, AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", source)));
        Assert.That(await File.ReadAllTextAsync(Path.Combine(sandbox.MountPoint, "data", "hello.txt")), Is.EqualTo("hello"));

        agent.Signal(signal);

        Assert.That(await agent.WaitForExitAsync(), Is.Zero, agent.Stderr);
        Assert.That(MountTable.IsMounted(sandbox.MountPoint), Is.False, $"{sandbox.MountPoint} still mounted after signal {signal}");
    }

    [Test]
    public async Task SigtermWhileAFileIsOpenStillUnmountsAndExitsZero()
    {
        // Pods are stopped while training jobs still hold files open: the agent must not hang on a busy mount.
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("data");
        await File.WriteAllTextAsync(Path.Combine(source, "held.txt"), "held open");
        await using var agent = await AgentProcess.StartMountedAsync(sandbox, AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", source)));
        using (var held = File.OpenHandle(Path.Combine(sandbox.MountPoint, "data", "held.txt")))
        {
            agent.Signal(AgentProcess.SIGTERM);
            Assert.That(await agent.WaitForExitAsync(), Is.Zero, agent.Stderr);
            Assert.That(MountTable.IsMounted(sandbox.MountPoint), Is.False, $"{sandbox.MountPoint} still mounted while a file was held open");
        }
    }

    [Test]
    public async Task UnknownBackendTypeExitsTwoNamingTheKey()
    {
        using var sandbox = new TestSandbox();
        var config = AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", sandbox.CreateSource("data"))) with { BackendType = "s4" };
        await using var agent = AgentProcess.Start(sandbox, config);

        Assert.That(await agent.WaitForExitAsync(), Is.EqualTo(2), agent.Stderr);
        Assert.That(agent.Stderr, Does.Contain("warpdrive-node: invalid configuration: backends[0].type"));
        Assert.That(MountTable.IsMounted(sandbox.MountPoint), Is.False, $"{sandbox.MountPoint} is mounted");
    }

    [Test]
    public async Task MissingLocalRootExitsTwoNamingTheKeyAndTheRoot()
    {
        using var sandbox = new TestSandbox();
        var missing = Path.Combine(sandbox.Root, "no-such-root");
        await using var agent = AgentProcess.Start(sandbox, AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", missing)));

        Assert.That(await agent.WaitForExitAsync(), Is.EqualTo(2), $"a missing config.root is a configuration error; stderr:\n{agent.Stderr}");
        Assert.That(agent.Stderr, Does.Contain($"warpdrive-node: invalid configuration: backends[0].config.root: \"{missing}\" does not exist"));
        Assert.That(agent.Stderr, Does.Not.Contain("(Parameter"));
        Assert.That(MountTable.IsMounted(sandbox.MountPoint), Is.False, $"{sandbox.MountPoint} is mounted");
    }

    [TestCase("missing directory")]
    [TestCase("regular file")]
    public async Task UnmountableMountPointExitsOneNamingIt(string kind)
    {
        using var sandbox = new TestSandbox();
        var mountPoint = Path.Combine(sandbox.Root, "not-a-mount-point");
        if (kind == "regular file")
        {
            await File.WriteAllTextAsync(mountPoint, "a file, not a directory");
        }

        var config = AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", sandbox.CreateSource("data"))) with { MountPoint = mountPoint };
        await using var agent = AgentProcess.Start(sandbox, config);

        Assert.That(await agent.WaitForExitAsync(), Is.EqualTo(1), agent.Stderr);
        Assert.That(agent.Stderr, Does.Contain($"could not mount {mountPoint}"));
        Assert.That(MountTable.IsMounted(mountPoint), Is.False, $"{mountPoint} is mounted");
    }

    [Test]
    public async Task UnmountFromOutsideEndsTheAgentWithFailure()
    {
        using var sandbox = new TestSandbox();
        await using var agent = await AgentProcess.StartMountedAsync(sandbox, AgentConfig.ForSandbox(sandbox, new LocalBackend("data", "/data", sandbox.CreateSource("data"))));

        TestSandbox.LazyUnmount(sandbox.MountPoint);

        Assert.That(await agent.WaitForExitAsync(), Is.Not.Zero, agent.Stderr);
        Assert.That(agent.Stderr, Does.Contain("unmounted from outside"));
        Assert.That(MountTable.IsMounted(sandbox.MountPoint), Is.False, $"{sandbox.MountPoint} is mounted");
    }
}
