namespace WarpDrive.Deploy.Tests;

/// <summary>
/// deploy/slurm/warpdrive-prolog.sh and warpdrive-epilog.sh run as slurmd runs them (root, SLURM_* variables),
/// against the real agent on this machine. The node has no systemd, so the scripts' start command launches
/// warpdrive-node directly; the warm command is the recording warm-command-test-double.sh.
/// </summary>
[NonParallelizable]
public sealed class SlurmScriptTests
{
    [Test]
    public async Task Scripts_are_shellcheck_clean()
    {
        // -x follows the `source` lines, which shellcheck resolves from the working directory.
        var shellcheck = await CommandRunner.RunAsync("bash",
            ["-c", $"cd '{Repo.Path("deploy", "slurm")}' && shellcheck -x warpdrive-prolog.sh warpdrive-epilog.sh warpdrive-slurm-common.sh warpdrive-slurm.conf"],
            limitSeconds: 120);

        Assert.That(shellcheck.ExitCode, Is.Zero, shellcheck.ToString());
        Assert.That(shellcheck.Stdout, Is.Empty);
    }

    [Test]
    public async Task Prolog_brings_the_mount_up_and_exits_0()
    {
        using var node = new SlurmNode();

        var prolog = await node.RunPrologAsync();

        Assert.That(prolog.ExitCode, Is.Zero, prolog + node.Diagnostics());
        Assert.That(node.IsMounted, Is.True);
        Assert.That(File.ReadAllText(Path.Combine(node.MountPoint, "data", "hello.txt")), Is.EqualTo("hello from the backend\n"));
        Assert.That(prolog.Stderr, Does.Contain("job 4242: started the agent"));
        Assert.That(prolog.Stderr, Does.Contain($"{node.MountPoint} is up"));
        Assert.That(File.Exists(node.WarmRecord), Is.False, "no warm was asked for");
    }

    [Test]
    public async Task A_second_prolog_finds_the_mount_up_and_starts_nothing()
    {
        using var node = new SlurmNode();
        var first = await node.RunPrologAsync();
        Assert.That(first.ExitCode, Is.Zero, first + node.Diagnostics());
        var agent = node.RunningAgentPid;

        node.Environment["SLURM_JOB_ID"] = "4243";
        var second = await node.RunPrologAsync();

        Assert.That(second.ExitCode, Is.Zero, second.ToString());
        Assert.That(second.Stderr, Does.Not.Contain("started the agent"));
        Assert.That(node.RunningAgentPid, Is.EqualTo(agent).And.Not.Null);
    }

    [Test]
    public async Task Prolog_fails_when_the_agent_refuses_its_configuration()
    {
        using var node = new SlurmNode(backendType: "s4");

        var prolog = await node.RunPrologAsync(limitSeconds: 120);

        Assert.That(prolog.ExitCode, Is.Not.Zero, prolog.ToString());
        Assert.That(prolog.Stderr, Does.Contain("exited with status 2 before"));
        Assert.That(node.IsMounted, Is.False);
    }

    [Test]
    public async Task Prolog_gives_up_at_the_start_timeout_when_the_mount_never_comes()
    {
        using var node = new SlurmNode();
        node.Environment["WARPDRIVE_START_COMMAND"] = "sleep 600"; // alive, never mounts
        node.Environment["WARPDRIVE_START_TIMEOUT"] = "3";

        var prolog = await node.RunPrologAsync(limitSeconds: 60);

        Assert.That(prolog.ExitCode, Is.Not.Zero, prolog.ToString());
        Assert.That(prolog.Stderr, Does.Contain($"{node.MountPoint} not ready after 3s (not a FUSE mount)"));
        Assert.That(node.RunningAgentPid, Is.Not.Null, "the stand-in is still running; Dispose stops it by its PID");
    }

    [Test]
    public async Task Prolog_warms_the_prefixes_of_the_job_comment_before_the_job_starts()
    {
        using var node = new SlurmNode();
        node.Environment["SLURM_JOB_COMMENT"] = "resnet run 12 warpdrive:warm=data:imagenet/train,laion/00 priority";
        node.Environment["WARPDRIVE_WARM_MODE"] = "wait";

        var prolog = await node.RunPrologAsync();

        Assert.That(prolog.ExitCode, Is.Zero, prolog + node.Diagnostics());
        Assert.That(File.ReadAllLines(node.WarmRecord), Is.EqualTo(new[]
        {
            $"warm --config {node.ConfigPath} --backend data --prefix imagenet/train",
            $"warm --config {node.ConfigPath} --prefix laion/00",
        }));
        Assert.That(prolog.Stderr, Does.Contain("warmed laion/00"));
    }

    [Test]
    public async Task Prolog_warms_WARPDRIVE_WARM_PREFIXES_in_the_background()
    {
        using var node = new SlurmNode();
        node.Environment["WARPDRIVE_WARM_PREFIXES"] = "data/shards";

        var prolog = await node.RunPrologAsync();

        Assert.That(prolog.ExitCode, Is.Zero, prolog + node.Diagnostics());
        Assert.That(prolog.Stderr, Does.Contain("warming data/shards in the background"));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!File.Exists(node.WarmRecord) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.That(File.Exists(node.WarmRecord), Is.True, "the background warm never ran");
        Assert.That(File.ReadAllText(node.WarmRecord), Is.EqualTo($"warm --config {node.ConfigPath} --prefix data/shards\n"));
    }

    [Test]
    public async Task Prolog_ignores_warm_prefixes_that_could_be_options_or_escape_the_tree()
    {
        using var node = new SlurmNode();
        node.Environment["WARPDRIVE_WARM_PREFIXES"] = "--help,data/../../etc,data/ok,$(reboot),Bad:x";
        node.Environment["WARPDRIVE_WARM_MODE"] = "wait";

        var prolog = await node.RunPrologAsync();

        Assert.That(prolog.ExitCode, Is.Zero, prolog.ToString());
        Assert.That(File.ReadAllLines(node.WarmRecord), Is.EqualTo(new[] { $"warm --config {node.ConfigPath} --prefix data/ok" }));
        Assert.That(prolog.Stderr, Does.Contain("ignoring warm prefix '--help'"));
        Assert.That(prolog.Stderr, Does.Contain("ignoring warm prefix 'data/../../etc'"));
        Assert.That(prolog.Stderr, Does.Contain("ignoring warm prefix '$(reboot)'"));
        Assert.That(prolog.Stderr, Does.Contain("ignoring warm prefix 'Bad:x'"));
    }

    [Test]
    public async Task A_warm_that_hangs_is_stopped_at_the_warm_timeout_and_the_job_still_starts()
    {
        using var node = new SlurmNode();
        node.Environment["WARPDRIVE_WARM_PREFIXES"] = "data/slow";
        node.Environment["WARPDRIVE_WARM_MODE"] = "wait";
        node.Environment["WARPDRIVE_WARM_TIMEOUT"] = "2";
        node.Environment["WARM_TEST_DOUBLE_SLEEP"] = "600";

        var prolog = await node.RunPrologAsync(limitSeconds: 120);

        Assert.That(prolog.ExitCode, Is.Zero, prolog.ToString());
        Assert.That(prolog.Stderr, Does.Contain("warm data/slow stopped after the 2s warm budget"));
    }

    [Test]
    public async Task A_failing_warm_is_logged_and_does_not_fail_the_prolog()
    {
        using var node = new SlurmNode();
        node.Environment["WARPDRIVE_WARM_PREFIXES"] = "data/missing";
        node.Environment["WARPDRIVE_WARM_MODE"] = "wait";
        node.Environment["WARM_TEST_DOUBLE_EXIT"] = "3";

        var prolog = await node.RunPrologAsync();

        Assert.That(prolog.ExitCode, Is.Zero, prolog.ToString());
        Assert.That(prolog.Stderr, Does.Contain("warm data/missing failed with status 3"));
    }

    [Test]
    public async Task Epilog_with_unmount_configured_stops_the_agent_and_the_mount_disappears()
    {
        using var node = new SlurmNode();
        var prolog = await node.RunPrologAsync();
        Assert.That(prolog.ExitCode, Is.Zero, prolog + node.Diagnostics());
        Assert.That(node.IsMounted, Is.True);

        node.Environment["WARPDRIVE_UNMOUNT_ON_EPILOG"] = "yes";
        var epilog = await node.RunEpilogAsync();

        Assert.That(epilog.ExitCode, Is.Zero, epilog.ToString());
        Assert.That(node.IsMounted, Is.False);
        Assert.That(node.RunningAgentPid, Is.Null);
        Assert.That(File.ReadAllText(node.AgentLog), Does.Contain("stopped cleanly"));
        Assert.That(epilog.Stderr, Does.Contain("stopped the agent"));
    }

    [Test]
    public async Task Epilog_by_default_keeps_the_mount_and_its_cache_for_the_next_job()
    {
        using var node = new SlurmNode();
        var prolog = await node.RunPrologAsync();
        Assert.That(prolog.ExitCode, Is.Zero, prolog + node.Diagnostics());

        var epilog = await node.RunEpilogAsync();

        Assert.That(epilog.ExitCode, Is.Zero, epilog.ToString());
        Assert.That(node.IsMounted, Is.True);
        Assert.That(node.RunningAgentPid, Is.Not.Null);
    }

    [Test]
    public async Task Prolog_replaces_an_agent_that_was_killed_and_left_a_dead_mount()
    {
        using var node = new SlurmNode();
        var first = await node.RunPrologAsync();
        Assert.That(first.ExitCode, Is.Zero, first + node.Diagnostics());
        using (var agent = System.Diagnostics.Process.GetProcessById(node.RunningAgentPid!.Value))
        {
            agent.Kill();
            agent.WaitForExit();
        }

        Assert.That(node.IsMounted, Is.True, "a SIGKILLed FUSE server leaves its mount behind");

        var second = await node.RunPrologAsync();

        Assert.That(second.ExitCode, Is.Zero, second + node.Diagnostics());
        Assert.That(second.Stderr, Does.Contain("detaching the dead mount"));
        Assert.That(File.ReadAllText(Path.Combine(node.MountPoint, "data", "hello.txt")), Is.EqualTo("hello from the backend\n"));
    }
}
