using System.Diagnostics;
using System.Security.Cryptography;

namespace WarpDrive.Mount.Tests;

/// <summary>
/// No broken mount, ever: a reader streams a large file through the mount while the agent is handed over to a new
/// process, SIGKILLed and restarted, or restarted the way the systemd unit restarts it, and reads every byte with no
/// error and the right checksum. The gap (its slowest single read) is printed. Real holder and agents, real mounts.
/// </summary>
[NonParallelizable]
public sealed class HandoverTests
{
    /// <summary>256 MiB at 1 MiB per read with 20 ms pauses: the reader is mid-file for 5 s or more.</summary>
    private const int FileSize = 256 << 20;

    private TestSandbox _sandbox = null!;
    private string _file = null!;
    private byte[] _expected = null!;

    [SetUp]
    public void CreateDataset()
    {
        _sandbox = new TestSandbox();
        var source = _sandbox.CreateSource("data");
        var bytes = new byte[FileSize];
        new Random(14).NextBytes(bytes);
        File.WriteAllBytes(Path.Combine(source, "shard.bin"), bytes);
        _expected = SHA256.HashData(bytes);
        _file = Path.Combine(_sandbox.MountPoint, "data", "shard.bin");
    }

    [TearDown]
    public void RemoveSandbox() => _sandbox.Dispose();

    private string HolderSocket => Path.Combine(_sandbox.Root, "fdholder.sock");

    private Dictionary<string, string> WithHolder => new() { ["WARPDRIVE_FD_HOLDER"] = HolderSocket };

    [Test]
    public async Task A_reader_keeps_reading_every_byte_while_the_agent_hands_over_to_a_new_process()
    {
        await using var holder = await StartHolderAsync();
        await using var first = AgentProcess.Start(_sandbox, Yaml(), _sandbox.MountPoint, WithHolder);
        await first.WaitForMountAsync();
        await WaitForLogAsync(first, "fd holder");
        await using var reader = StreamingReader.Start(_file);
        await reader.WaitForAsync(16 << 20);

        await using var second = AgentProcess.Start(_sandbox, Yaml(), _sandbox.MountPoint, WithHolder);
        Assert.That(await first.WaitForExitAsync(), Is.Zero, "the old agent lets go and exits 0 by itself");
        var atHandOver = reader.BytesRead;
        await WaitForLogAsync(second, "took over");
        reader.Unthrottle();
        var result = await reader.Completion.WaitAsync(TimeSpan.FromMinutes(2));

        result.Report("hand-over", FileSize, atHandOver);
        result.AssertEveryByte(FileSize, _expected, atHandOver);
        Assert.Multiple(() =>
        {
            Assert.That(first.Stderr, Does.Contain("handing").And.Contain("over to a successor"));
            Assert.That(second.Stderr, Does.Contain("unanswered requests resent"));
            Assert.That(MountTable.CountAt(_sandbox.MountPoint), Is.EqualTo(1), "one mount, not one stacked on another");
        });
    }

    [Test]
    public async Task A_reader_keeps_reading_every_byte_when_the_agent_is_SIGKILLed_and_restarted()
    {
        await using var holder = await StartHolderAsync();
        await using var first = AgentProcess.Start(_sandbox, Yaml(), _sandbox.MountPoint, WithHolder);
        await first.WaitForMountAsync();
        await WaitForLogAsync(first, "fd holder");
        await using var reader = StreamingReader.Start(_file);
        await reader.WaitForAsync(16 << 20);

        first.Signal(AgentProcess.SIGKILL);
        await first.WaitForExitAsync();
        var atKill = reader.BytesRead;
        // Nobody serves the mount now: the reader must wait, not fail.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.That(reader.Completion.IsCompleted, Is.False, $"the reader stopped while no agent ran: {(reader.Completion.IsCompleted ? reader.Completion.Result.Error : null)}");

        await using var second = AgentProcess.Start(_sandbox, Yaml(), _sandbox.MountPoint, WithHolder);
        await WaitForLogAsync(second, "took over");
        reader.Unthrottle();
        var result = await reader.Completion.WaitAsync(TimeSpan.FromMinutes(2));

        result.Report("SIGKILL + restart", FileSize, atKill);
        result.AssertEveryByte(FileSize, _expected, atKill);
        Assert.That(MountTable.CountAt(_sandbox.MountPoint), Is.EqualTo(1));
    }

    [Test]
    public async Task After_the_holder_itself_restarts_the_agent_hands_its_connection_in_again_and_a_crash_is_still_survived()
    {
        await using var firstHolder = await StartHolderAsync();
        await using var first = AgentProcess.Start(_sandbox, Yaml(), _sandbox.MountPoint, WithHolder);
        await first.WaitForMountAsync();
        await WaitForLogAsync(first, "fd holder");
        firstHolder.Signal(AgentProcess.SIGKILL);
        await firstHolder.WaitForExitAsync();
        File.Delete(HolderSocket);
        Assert.That(MountTable.CountAt(_sandbox.MountPoint), Is.EqualTo(1));

        await using var holder = await StartHolderAsync();
        await WaitForLogAsync(first, "alive again");
        await using var reader = StreamingReader.Start(_file);
        await reader.WaitForAsync(16 << 20);
        first.Signal(AgentProcess.SIGKILL);
        await first.WaitForExitAsync();
        var atKill = reader.BytesRead;
        await using var second = AgentProcess.Start(_sandbox, Yaml(), _sandbox.MountPoint, WithHolder);
        await WaitForLogAsync(second, "took over");
        reader.Unthrottle();
        var result = await reader.Completion.WaitAsync(TimeSpan.FromMinutes(2));

        result.Report("holder restart, then SIGKILL + restart", FileSize, atKill);
        result.AssertEveryByte(FileSize, _expected, atKill);
    }

    /// <summary>
    /// systemd is not PID 1 here, so this runs the shipped units' lines the way systemd would: the holder unit's
    /// ExecStart, then the agent unit's ExecStartPre/ExecStart with its Environment=; `systemctl restart` = its
    /// KillSignal to the main process, wait for exit, ExecStopPost, then ExecStartPre and ExecStart again. Substituted
    /// (and only these): the binary (dotnet warpdrive-node.dll), the config path, and the holder socket (a per-test path
    /// instead of /run/warpdrive, which other test runs on this machine share).
    /// </summary>
    [Test]
    public async Task A_reader_keeps_reading_every_byte_across_a_restart_of_the_systemd_unit()
    {
        var holderUnit = SystemdUnit.Load("warpdrive-fdholder.service");
        var agentUnit = SystemdUnit.Load("warpdrive-agent.service");
        Assert.That(agentUnit.Environment()["WARPDRIVE_FD_HOLDER"], Is.EqualTo(holderUnit.Environment()["WARPDRIVE_FD_HOLDER"]), "both units name the same socket");
        var configPath = Path.Combine(_sandbox.Root, "config.yaml");
        await File.WriteAllTextAsync(configPath, Yaml());

        await using var holder = StartUnitMain(holderUnit, configPath);
        await WaitForSocketAsync(holder);
        await using var first = await StartAgentUnitAsync(agentUnit, configPath);
        await first.WaitForMountAsync();
        await WaitForLogAsync(first, "fd holder");
        await using var reader = StreamingReader.Start(_file);
        await reader.WaitForAsync(16 << 20);

        // systemctl restart warpdrive-agent: stop (KillSignal to the main process), ExecStopPost, then start again.
        Assert.That(agentUnit.One("KillSignal"), Is.EqualTo("SIGTERM"));
        first.Signal(AgentProcess.SIGTERM);
        Assert.That(await first.WaitForExitAsync(), Is.Zero, "a clean exit, as systemd expects on stop");
        var atStop = reader.BytesRead;
        await RunAsync(agentUnit.All("ExecStopPost"), agentUnit.Environment());
        await using var second = await StartAgentUnitAsync(agentUnit, configPath);
        await WaitForLogAsync(second, "took over");
        reader.Unthrottle();
        var result = await reader.Completion.WaitAsync(TimeSpan.FromMinutes(2));

        result.Report("systemd unit restart", FileSize, atStop);
        result.AssertEveryByte(FileSize, _expected, atStop);
        Assert.That(MountTable.CountAt(_sandbox.MountPoint), Is.EqualTo(1));
    }

    [Test]
    public async Task A_new_agent_clears_a_dead_mount_instead_of_stacking_on_it_and_it_does_not_come_back_after_a_clean_stop()
    {
        await using (var crashed = AgentProcess.Start(_sandbox, Yaml(), _sandbox.MountPoint))
        {
            await crashed.WaitForMountAsync();
            crashed.Signal(AgentProcess.SIGKILL);
            await crashed.WaitForExitAsync();
            var dead = Assert.Throws<IOException>(() => Directory.GetFileSystemEntries(_sandbox.MountPoint));
            Assert.That(dead!.Message, Does.Contain("not connected"), "without a holder, a killed agent leaves a dead mount");

            await using var next = AgentProcess.Start(_sandbox, Yaml(), _sandbox.MountPoint);
            await WaitForLogAsync(next, "mounted ");
            Assert.Multiple(() =>
            {
                Assert.That(MountTable.CountAt(_sandbox.MountPoint), Is.EqualTo(1), "the dead mount was removed, not stacked on");
                Assert.That(next.Stderr, Does.Contain("dead WarpDrive mount"), "the agent says what it did");
                Assert.That(File.Exists(_file), Is.True, "the fresh mount serves");
            });

            next.Signal(AgentProcess.SIGTERM);
            Assert.That(await next.WaitForExitAsync(), Is.Zero);
            Assert.That(MountTable.CountAt(_sandbox.MountPoint), Is.Zero, "after a clean stop nothing is left, no dead mount reappears");
        }
    }

    [Test]
    public async Task A_second_agent_refuses_a_mount_point_that_another_agent_serves()
    {
        await using var serving = AgentProcess.Start(_sandbox, Yaml(), _sandbox.MountPoint);
        await serving.WaitForMountAsync();

        await using var second = AgentProcess.Start(_sandbox, Yaml(), _sandbox.MountPoint);
        Assert.That(await second.WaitForExitAsync(), Is.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(second.Stderr, Does.Contain("already mounted").And.Contain("served by another process"));
            Assert.That(MountTable.CountAt(_sandbox.MountPoint), Is.EqualTo(1), "never stacked");
            Assert.That(File.Exists(_file), Is.True, "the first agent still serves");
        });
    }

    private string Yaml() => $"""
        mount_point: "{_sandbox.MountPoint}"
        cache:
          path: "{_sandbox.CachePath}"
        metrics:
          enabled: false
        backends:
          - name: data
            type: local
            config:
              root: "{Path.Combine(_sandbox.Root, "src-data")}"
        """;

    private async Task<AgentProcess> StartHolderAsync()
    {
        var holder = AgentProcess.Run(["fd-holder", "--socket", HolderSocket, "--log-format", "text"], _sandbox.MountPoint);
        await WaitForSocketAsync(holder);
        return holder;
    }

    private async Task WaitForSocketAsync(AgentProcess holder)
    {
        var deadline = Stopwatch.StartNew();
        while (!File.Exists(HolderSocket))
        {
            Assert.That(holder.HasExited, Is.False, $"the fd holder exited: {holder.Stderr}");
            Assert.That(deadline.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "the fd holder did not listen within 30 s");
            await Task.Delay(50);
        }
    }

    private AgentProcess StartUnitMain(SystemdUnit unit, string configPath) =>
        AgentProcess.Run(UnitArguments(SystemdUnit.Command(unit.One("ExecStart")!, unit.Environment()).Argv, configPath), _sandbox.MountPoint, UnitEnvironment(unit));

    private async Task<AgentProcess> StartAgentUnitAsync(SystemdUnit unit, string configPath)
    {
        await RunAsync(unit.All("ExecStartPre"), unit.Environment());
        return StartUnitMain(unit, configPath);
    }

    /// <summary>The unit's environment, with the holder socket moved into this test's sandbox.</summary>
    private Dictionary<string, string> UnitEnvironment(SystemdUnit unit)
    {
        var environment = unit.Environment();
        environment["WARPDRIVE_FD_HOLDER"] = HolderSocket;
        return environment;
    }

    /// <summary>argv after the binary, the config path substituted; plus text logs for the test output.</summary>
    private static string[] UnitArguments(string[] argv, string configPath)
    {
        Assert.That(argv[0], Is.EqualTo("/usr/local/bin/warpdrive-node"));
        return [.. argv.Skip(1).Select(a => a == "/etc/warpdrive/config.yaml" ? configPath : a), "--log-format", "text"];
    }

    /// <summary>ExecStartPre/ExecStopPost lines: run in order; a failure fails the start unless the line starts with '-'.</summary>
    private static async Task RunAsync(IReadOnlyList<string> lines, IReadOnlyDictionary<string, string> environment)
    {
        foreach (var line in lines)
        {
            var (ignoreFailure, argv) = SystemdUnit.Command(line, environment);
            var start = new ProcessStartInfo(argv[0]) { UseShellExecute = false };
            foreach (var argument in argv.Skip(1))
            {
                start.ArgumentList.Add(argument);
            }

            using var process = Process.Start(start)!;
            await process.WaitForExitAsync();
            Assert.That(ignoreFailure || process.ExitCode == 0, Is.True, $"{line} failed with {process.ExitCode}");
        }
    }

    private static async Task WaitForLogAsync(AgentProcess agent, string text)
    {
        var deadline = Stopwatch.StartNew();
        while (!agent.Stderr.Contains(text, StringComparison.Ordinal))
        {
            if (agent.HasExited)
            {
                await Task.Delay(200); // let the last lines arrive
                Assert.That(agent.Stderr, Does.Contain(text), $"warpdrive-node (pid {agent.Pid}) exited before logging it");
            }

            Assert.That(deadline.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)), $"no '{text}' in the log of pid {agent.Pid} within 60 s:\n{agent.Stderr}");
            await Task.Delay(50);
        }
    }
}
