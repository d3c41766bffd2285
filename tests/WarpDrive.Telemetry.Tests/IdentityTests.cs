using Microsoft.Extensions.Logging.Abstractions;
using WarpDrive.Telemetry.Identity;
using WarpDrive.Telemetry.Sinks;

namespace WarpDrive.Telemetry.Tests;

public sealed class IdentityTests
{
    private const string Uid = "0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e";

    [TestCase("12:memory:/kubepods/burstable/pod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/8d3f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3\n", TestName = "cgroup v1, cgroupfs driver, burstable")]
    [TestCase("4:cpu,cpuacct:/kubepods/pod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/abc\n", TestName = "cgroup v1, guaranteed")]
    [TestCase("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0b8d2e9f_1c2a_4c7e_9d7c_2f7f5c1a9b3e.slice/cri-containerd-5e1f.scope\n", TestName = "cgroup v2, systemd driver, besteffort")]
    [TestCase("0::/kubepods.slice/kubepods-pod0b8d2e9f_1c2a_4c7e_9d7c_2f7f5c1a9b3e.slice/crio-77aa.scope\n", TestName = "cgroup v2, systemd driver, guaranteed")]
    [TestCase("0::/kubepods/burstable/pod0B8D2E9F-1C2A-4C7E-9D7C-2F7F5C1A9B3E/c1\n", TestName = "cgroup v2, cgroupfs driver, upper case")]
    [TestCase("13:pids:/user.slice\n12:memory:/kubepods/besteffort/pod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/c\n1:name=systemd:/kubepods/besteffort/pod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/c\n", TestName = "several hierarchies")]
    [TestCase("12:pids:/kubepods/besteffort/pod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/5e1f0c2b9a7d\n11:hugetlb:/kubepods/besteffort/pod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/5e1f0c2b9a7d\n"
        + "4:memory:/kubepods/besteffort/pod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/5e1f0c2b9a7d\n1:name=systemd:/kubepods/besteffort/pod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/5e1f0c2b9a7d\n0::/\n",
        TestName = "cgroup v1 hybrid host, cgroupfs driver (the kit cluster): unified line last and empty")]
    [TestCase("0::/../../besteffort/pod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/5e1f0c2b9a7d\n", TestName = "cgroup v2, cgroupfs, seen from a private cgroup namespace")]
    [TestCase("0::/../../kubepods-besteffort-pod0b8d2e9f_1c2a_4c7e_9d7c_2f7f5c1a9b3e.slice/cri-containerd-5e1f.scope\n", TestName = "cgroup v2, systemd, seen from a private cgroup namespace")]
    [TestCase("5:pids:/custom-root/kubepods/pod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/c\n", TestName = "cgroup v1 below a kubelet cgroup root")]
    public void FindsThePodUid(string cgroup) => Assert.That(CgroupPodUid.Parse(cgroup), Is.EqualTo(Uid));

    [TestCase("0::/user.slice/user-1000.slice/session-3.scope\n")]
    [TestCase("0::/system.slice/docker-1f2e3d.scope\n")]
    [TestCase("0::/\n")]
    [TestCase("12:memory:/kubepods/burstable\n")]
    [TestCase("0::/system.slice/pod0b8d2e9f.service\n")]
    [TestCase("0::/user.slice/apod0b8d2e9f-1c2a-4c7e-9d7c-2f7f5c1a9b3e/x\n")]
    [TestCase("")]
    public void FindsNoPodOutsideKubernetes(string cgroup) => Assert.That(CgroupPodUid.Parse(cgroup), Is.Null);

    [Test]
    public void ThisProcessIsNotInAPod() => Assert.That(CgroupPodUid.Parse(File.ReadAllText("/proc/self/cgroup")), Is.Null);

    [Test]
    public void UserNamesComeFromThePasswdFile()
    {
        using var dir = new TempDirectory();
        var passwd = dir.File("passwd");
        File.WriteAllLines(passwd, ["# comment", "root:x:0:0:root:/root:/bin/bash", "alice:x:1000:1000:Alice:/home/alice:/bin/bash", "alias:x:1000:1000::/:/bin/false", "broken-line", "bob:x:1001:1001::/home/bob:/bin/sh"]);
        var users = new PasswdUserNames(passwd);
        Assert.Multiple(() =>
        {
            Assert.That(users.NameOf(0), Is.EqualTo("root"));
            Assert.That(users.NameOf(1000), Is.EqualTo("alice"), "the first entry for a uid wins");
            Assert.That(users.NameOf(1001), Is.EqualTo("bob"));
            Assert.That(users.NameOf(4242), Is.EqualTo("4242"), "an unknown uid is its number");
        });

        File.AppendAllLines(passwd, ["carol:x:4242:4242::/:/bin/sh"]);
        File.SetLastWriteTimeUtc(passwd, DateTime.UtcNow.AddMinutes(1));
        Assert.That(users.NameOf(4242), Is.EqualTo("carol"), "a changed file is read again");
    }

    [Test]
    public void TheSystemPasswdNamesRoot() => Assert.That(new PasswdUserNames().NameOf(0), Is.EqualTo("root"));

    [Test]
    public async Task APodCallerBecomesItsServiceAccountAndOthersTheirUser()
    {
        using var proc = new TempDirectory();
        WriteCgroup(proc, 4100, $"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{Uid.Replace('-', '_')}.slice/cri-containerd-aa.scope\n");
        WriteCgroup(proc, 4200, "0::/user.slice/user-0.slice/session-1.scope\n");
        WriteCgroup(proc, 4300, "0::/kubepods/besteffort/pod11111111-2222-3333-4444-555555555555/c\n");
        var pods = new PodResolverTestDouble(new Dictionary<string, PodIdentity> { [Uid] = new("ml-team", "trainer-0", "trainer") });
        var resolver = new CallerResolver(new PasswdUserNames(), pods, proc.Path);

        var inPod = await resolver.ResolveAsync(4100, 1000, CancellationToken.None);
        var again = await resolver.ResolveAsync(4100, 1000, CancellationToken.None);
        var host = await resolver.ResolveAsync(4200, 0, CancellationToken.None);
        var unknownPod = await resolver.ResolveAsync(4300, 0, CancellationToken.None);
        var exited = await resolver.ResolveAsync(4999, 0, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(inPod, Is.EqualTo(new CallerIdentity("system:serviceaccount:ml-team:trainer", "ml-team", "trainer-0", "trainer")));
            Assert.That(again, Is.EqualTo(inPod));
            Assert.That(pods.Lookups, Is.EqualTo(2), "a known pod is looked up once (the unknown one once too)");
            Assert.That(host, Is.EqualTo(new CallerIdentity("root")));
            Assert.That(unknownPod, Is.EqualTo(new CallerIdentity("root")));
            Assert.That(exited, Is.EqualTo(new CallerIdentity("root")));
        });
    }

    [Test]
    public async Task ACallerObservedWhileRunningIsStillItsPodAfterItExits()
    {
        using var proc = new TempDirectory();
        WriteCgroup(proc, 4100, $"0::/kubepods/burstable/pod{Uid}/c\n");
        var pods = new PodResolverTestDouble(new Dictionary<string, PodIdentity> { [Uid] = new("ml-team", "trainer-0", "trainer") });
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var resolver = new CallerResolver(new PasswdUserNames(), pods, proc.Path, time);

        resolver.Observe(4100);
        Directory.Delete(Path.Combine(proc.Path, "4100"), recursive: true); // the process exits before the pump runs
        var afterExit = await resolver.ResolveAsync(4100, 0, CancellationToken.None);
        time.Advance(CallerResolver.PidTtl + TimeSpan.FromSeconds(1));
        var afterTtl = await resolver.ResolveAsync(4100, 0, CancellationToken.None);

        Assert.That(afterExit.ServiceAccount, Is.EqualTo("trainer"));
        Assert.That(afterTtl, Is.EqualTo(new CallerIdentity("root")), "a pid is not trusted past its TTL (it may be reused)");
    }

    [Test]
    public async Task ThePumpFillsInTheCallerOfEventsRecordedWithAPid()
    {
        using var proc = new TempDirectory();
        WriteCgroup(proc, 77, $"0::/kubepods/burstable/pod{Uid}/c\n");
        var pods = new PodResolverTestDouble(new Dictionary<string, PodIdentity> { [Uid] = new("ml-team", "trainer-0", "trainer") });
        var output = new StringWriter();
        var recorder = new AccessRecorder(new StdoutSink(output), new AccessRecorderOptions(), NullLogger.Instance, new CallerResolver(new PasswdUserNames(), pods, proc.Path));

        recorder.Record(Events.Read("x") with { User = null, CallerPid = 77, CallerUid = 1000, Count = 0 });
        recorder.Record(Events.Read("y") with { User = null, CallerPid = 78, CallerUid = 0 });
        await recorder.DisposeAsync();

        var events = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(TelemetryJson.Deserialize).ToList();
        Assert.Multiple(() =>
        {
            Assert.That((events[0].User, events[0].Namespace, events[0].Pod, events[0].ServiceAccount, events[0].Count),
                Is.EqualTo(("system:serviceaccount:ml-team:trainer", "ml-team", "trainer-0", "trainer", 1)));
            Assert.That((events[1].User, events[1].Namespace), Is.EqualTo(("root", (string?)null)));
        });
    }

    private static void WriteCgroup(TempDirectory proc, int pid, string text)
    {
        Directory.CreateDirectory(proc.File(pid.ToString()));
        File.WriteAllText(Path.Combine(proc.File(pid.ToString()), "cgroup"), text);
    }
}
