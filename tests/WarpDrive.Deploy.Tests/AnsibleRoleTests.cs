namespace WarpDrive.Deploy.Tests;

/// <summary>
/// deploy/slurm/ansible against this machine (connection=local) with every path pointed into a temp dir. There
/// is no systemd here, so the role installs the units but does not start them (it says so instead).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class AnsibleRoleTests
{
    private static readonly string Playbook = Repo.Path("deploy", "slurm", "ansible", "site.yml");

    [Test]
    public async Task The_playbook_passes_the_syntax_check()
    {
        var check = await CommandRunner.RunAsync("ansible-playbook", ["--syntax-check", "-i", "localhost,", Playbook], limitSeconds: 120);

        Assert.That(check.ExitCode, Is.Zero, check.ToString());
    }

    [Test]
    public async Task Check_mode_on_localhost_succeeds_and_changes_nothing()
    {
        using var target = new Target();

        var run = await target.RunAsync("--check");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Stdout, Does.Match(@"localhost\s+: ok=\d+\s+changed=[1-9]\d*\s+unreachable=0\s+failed=0"));
        Assert.That(Directory.Exists(target.ConfigDir), Is.False);
        Assert.That(File.ReadAllText(target.SlurmConf), Is.EqualTo(Target.OriginalSlurmConf));
    }

    [Test]
    public async Task A_real_run_installs_everything_and_a_second_run_changes_nothing()
    {
        using var target = new Target();

        var first = await target.RunAsync();
        var second = await target.RunAsync();

        Assert.That(first.ExitCode, Is.Zero, first.ToString());
        Assert.That(second.ExitCode, Is.Zero, second.ToString());
        Assert.That(second.Stdout, Does.Match(@"localhost\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0"), second.Stdout);
        Assert.That(File.ReadAllText(Path.Combine(target.ConfigDir, "config.yaml")), Does.Contain($"mount_point: \"{target.MountPoint}\""));
        Assert.That(File.ReadAllText(target.SlurmConf), Does.Contain($"Prolog={target.ScriptsDir}/warpdrive-prolog.sh"));
        Assert.That(File.ReadAllText(target.SlurmConf), Does.Contain($"Epilog={target.ScriptsDir}/warpdrive-epilog.sh"));
        Assert.That(File.ReadAllText(target.SlurmConf), Does.Not.Contain("/old/prolog"));
        Assert.That(File.GetUnixFileMode(Path.Combine(target.ScriptsDir, "warpdrive-prolog.sh")).HasFlag(UnixFileMode.UserExecute), Is.True);

        // The rendered units (ExecStart = the installed binary, which exists) are ones systemd accepts.
        var verify = await CommandRunner.RunAsync("systemd-analyze", ["verify", target.HolderUnitPath, target.UnitPath], limitSeconds: 120);
        Assert.That(verify.ExitCode, Is.Zero, verify.ToString());
        Assert.That(verify.Stderr.Trim(), Is.Empty);
    }

    [Test]
    public async Task The_rendered_units_are_the_shipped_units_with_the_role_paths()
    {
        using var target = new Target();

        var run = await target.RunAsync();

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(target.AsShipped(target.UnitPath), Is.EqualTo(File.ReadAllText(Repo.Path("deploy", "systemd", "warpdrive-agent.service"))));
            Assert.That(target.AsShipped(target.HolderUnitPath), Is.EqualTo(File.ReadAllText(Repo.Path("deploy", "systemd", "warpdrive-fdholder.service"))));
        });
    }

    /// <summary>The role's paths, all in one temp dir; a slurm.conf with old Prolog/Epilog lines to replace.</summary>
    private sealed class Target : IDisposable
    {
        public const string OriginalSlurmConf = "ClusterName=test\nProlog=/old/prolog\n";

        private readonly string _root = Directory.CreateTempSubdirectory("wd-ansible-").FullName;

        public Target()
        {
            File.WriteAllText(Binary, "#!/bin/sh\nexit 0\n");
            File.WriteAllText(SlurmConf, OriginalSlurmConf);
        }

        public string Binary => Path.Combine(_root, "warpdrive-node");

        public string ConfigDir => Path.Combine(_root, "etc");

        public string MountPoint => Path.Combine(_root, "mnt");

        public string ScriptsDir => Path.Combine(_root, "slurm");

        public string SlurmConf => Path.Combine(_root, "slurm.conf");

        public string UnitPath => Path.Combine(_root, "systemd", "warpdrive-agent.service");

        public string HolderUnitPath => Path.Combine(_root, "systemd", "warpdrive-fdholder.service");

        public string HolderSocket => Path.Combine(_root, "run", "fdholder.sock");

        public string InstalledBinary => Path.Combine(_root, "bin", "warpdrive-node");

        /// <summary>A rendered unit without its "ansible_managed" first line and with this target's paths put back to the shipped defaults.</summary>
        public string AsShipped(string unitPath)
        {
            var text = File.ReadAllText(unitPath);
            Assert.That(text, Does.StartWith("# Ansible managed"));
            return text[(text.IndexOf('\n', StringComparison.Ordinal) + 1)..]
                .Replace($"={HolderSocket}\n", "=/run/warpdrive/fdholder.sock\n", StringComparison.Ordinal)
                .Replace($"={InstalledBinary} ", "=/usr/local/bin/warpdrive-node ", StringComparison.Ordinal)
                .Replace($" {ConfigDir}/config.yaml\n", " /etc/warpdrive/config.yaml\n", StringComparison.Ordinal);
        }

        public Task<CommandResult> RunAsync(params string[] extra) => CommandRunner.RunAsync("ansible-playbook",
            [
                Playbook, "--connection=local", "-i", "localhost,", .. extra,
                "-e", "warpdrive_hosts=localhost",
                "-e", $"warpdrive_binary_src={Binary}",
                "-e", $"warpdrive_binary_path={InstalledBinary}",
                "-e", $"warpdrive_fd_holder_socket={HolderSocket}",
                "-e", $"warpdrive_config_dir={ConfigDir}",
                "-e", $"warpdrive_cache_path={Path.Combine(_root, "cache")}",
                "-e", $"warpdrive_mount_point={MountPoint}",
                "-e", $"warpdrive_slurm_scripts_dir={ScriptsDir}",
                "-e", $"warpdrive_systemd_dir={Path.Combine(_root, "systemd")}",
                "-e", "warpdrive_configure_slurm_conf=true",
                "-e", $"warpdrive_slurm_conf_path={SlurmConf}",
            ],
            new Dictionary<string, string?> { ["ANSIBLE_NOCOLOR"] = "1", ["ANSIBLE_LOCALHOST_WARNING"] = "false" },
            limitSeconds: 300);

        public void Dispose() => Directory.Delete(_root, recursive: true);
    }
}
