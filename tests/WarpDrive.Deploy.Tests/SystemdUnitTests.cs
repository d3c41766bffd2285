namespace WarpDrive.Deploy.Tests;

/// <summary>
/// deploy/systemd/warpdrive-agent.service, checked offline with Debian's systemd-analyze (there is no running
/// systemd here). verify insists that ExecStart's binary exists, so the unit is copied into a temp dir with
/// ExecStart pointing at /bin/true; every other line is the shipped one.
/// </summary>
public sealed class SystemdUnitTests
{
    private static readonly string UnitPath = Repo.Path("deploy", "systemd", "warpdrive-agent.service");

    /// <summary>
    /// Settings that make systemd run the service in its own mount namespace (exec_needs_mount_namespace() in
    /// systemd's src/core/execute.c), where the FUSE mount would be invisible to the rest of the node.
    /// </summary>
    private static readonly string[] MountNamespaceSettings =
    [
        "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateNetwork", "PrivateIPC", "IPCNamespacePath",
        "PrivateUsers", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "ExecPaths", "NoExecPaths", "BindPaths",
        "BindReadOnlyPaths", "TemporaryFileSystem", "RootDirectory", "RootImage", "MountImages", "ExtensionImages",
        "ExtensionDirectories", "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
        "ProtectProc", "ProcSubset", "LogNamespace", "DynamicUser", "MountAPIVFS",
    ];

    [Test]
    public async Task systemd_analyze_verify_accepts_the_unit_without_a_warning()
    {
        using var copy = new UnitCopy();

        var verify = await CommandRunner.RunAsync("systemd-analyze", ["verify", copy.Path], limitSeconds: 120);

        Assert.That(verify.ExitCode, Is.Zero, verify.ToString());
        Assert.That(verify.Stderr.Trim(), Is.Empty, "unknown keys and bad values only show up as warnings");
    }

    [Test]
    public async Task Offline_security_analysis_rates_the_unit_exposure_at_most_5()
    {
        using var copy = new UnitCopy();

        // --threshold=50 makes the exit status non-zero when the overall exposure is above 5.0 (of 10).
        var security = await CommandRunner.RunAsync("systemd-analyze", ["security", "--offline=true", "--threshold=50", "--no-pager", copy.Path], limitSeconds: 120);

        Assert.That(security.ExitCode, Is.Zero, security.ToString());
        Assert.That(security.Stdout, Does.Contain("Overall exposure level for warpdrive-agent.service"));
    }

    [Test]
    public void The_unit_sets_nothing_that_gives_it_a_private_mount_namespace()
    {
        var service = ServiceSettings();

        Assert.That(service.Keys.Intersect(MountNamespaceSettings.Append("MountFlags").Where(k => k != "PrivateMounts")), Is.Empty);
        Assert.That(service["PrivateMounts"], Is.EqualTo(new[] { "no" }));
    }

    [Test]
    public void The_unit_runs_the_agent_as_a_notify_service_stopped_by_SIGTERM_with_only_CAP_SYS_ADMIN()
    {
        var service = ServiceSettings();

        Assert.Multiple(() =>
        {
            Assert.That(service["Type"], Is.EqualTo(new[] { "notify" }));
            Assert.That(service["ExecStart"], Is.EqualTo(new[] { "/usr/local/bin/warpdrive-node mount --config /etc/warpdrive/config.yaml" }));
            Assert.That(service["KillSignal"], Is.EqualTo(new[] { "SIGTERM" }));
            Assert.That(service["ExecReload"], Is.EqualTo(new[] { "/bin/kill -HUP $MAINPID" }), "reload = SIGHUP, which drops the listing caches");
            Assert.That(service["Environment"], Is.EqualTo(new[] { "WARPDRIVE_FD_HOLDER=/run/warpdrive/fdholder.sock" }));
            Assert.That(service.Keys, Does.Not.Contain("ExecStartPre"), "a umount -l there would detach the held mount on a restart");
            Assert.That(service.Keys, Does.Not.Contain("ExecStopPost"), "a umount -l there would detach the held mount on a restart");
            Assert.That(service["Restart"], Is.EqualTo(new[] { "on-failure" }));
            Assert.That(service["RestartPreventExitStatus"], Is.EqualTo(new[] { "2" }), "bad configuration is not retried");
            Assert.That(service["CapabilityBoundingSet"], Is.EqualTo(new[] { "CAP_SYS_ADMIN" }));
            Assert.That(service["NoNewPrivileges"], Is.EqualTo(new[] { "yes" }));
            Assert.That(service["DeviceAllow"], Is.EqualTo(new[] { "/dev/fuse rw" }));
            Assert.That(service["StandardError"], Is.EqualTo(new[] { "journal" }));
        });
    }

    /// <summary>[Service] keys and their values (a key may repeat), comments and blank lines left out.</summary>
    private static Dictionary<string, string[]> ServiceSettings()
    {
        var section = "";
        var settings = new List<(string Key, string Value)>();
        foreach (var raw in File.ReadLines(UnitPath))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line.StartsWith('['))
            {
                section = line;
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (section == "[Service]" && equals > 0)
            {
                settings.Add((line[..equals], line[(equals + 1)..]));
            }
        }

        return settings.GroupBy(s => s.Key).ToDictionary(g => g.Key, g => g.Select(s => s.Value).ToArray());
    }

    /// <summary>The shipped unit in a temp dir, with ExecStart's binary swapped for /bin/true.</summary>
    private sealed class UnitCopy : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("wd-unit-").FullName;

        public UnitCopy()
        {
            Path = System.IO.Path.Combine(_directory, "warpdrive-agent.service");
            var text = File.ReadAllText(UnitPath);
            Assert.That(text, Does.Contain("ExecStart=/usr/local/bin/warpdrive-node "));
            File.WriteAllText(Path, text.Replace("ExecStart=/usr/local/bin/warpdrive-node ", "ExecStart=/bin/true ", StringComparison.Ordinal));
        }

        public string Path { get; }

        public void Dispose() => Directory.Delete(_directory, recursive: true);
    }
}
