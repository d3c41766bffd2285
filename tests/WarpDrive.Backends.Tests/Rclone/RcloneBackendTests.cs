using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends.Rclone;
using WarpDrive.Backends.Tests.Contract;

namespace WarpDrive.Backends.Tests.Rclone;

/// <summary>What is particular to the rclone backend: supervising its rcd, keeping secrets out, naming bad types.</summary>
[TestFixture]
public sealed class RcloneBackendTests
{
    private const string PasswordVariable = "WARPDRIVE_TEST_RCLONE_SECRET_PASS";
    private const string WebDavPassword = "webdav-Secret-7f3a91";
    private TempDirectory _root = null!;

    [SetUp]
    public void CreateRoot() => _root = new TempDirectory("rclone");

    [TearDown]
    public void RemoveRoot() => _root.Dispose();

    private RcloneBackend LocalBackend(CapturingLoggerFactory? logs = null, Dictionary<string, string>? extra = null)
    {
        var config = new Dictionary<string, string> { ["type"] = "local", ["path"] = _root.Path };
        foreach (var (k, v) in extra ?? [])
        {
            config[k] = v;
        }
        return (RcloneBackend)BackendFactory.Create("rclone-unit", "rclone", config, new BackendServices { LoggerFactory = logs });
    }

    private static bool IsRunning(int pid) => Directory.Exists($"/proc/{pid}");

    [Test]
    public async Task A_killed_rcd_is_restarted_on_the_next_call_and_logged_once()
    {
        var logs = new CapturingLoggerFactory();
        await using var backend = LocalBackend(logs);
        await backend.WriteAsync("a/file", new MemoryStream(Encoding.UTF8.GetBytes("before")), CancellationToken.None);
        var first = backend.DaemonProcessId!.Value;

        using (var child = Process.GetProcessById(first))
        {
            child.Kill(); // SIGKILL, no chance to clean up
            await child.WaitForExitAsync();
        }
        var stat = await backend.StatAsync("a/file", CancellationToken.None);
        var buffer = new byte[16];
        var read = await backend.ReadAtAsync("a/file", 0, buffer, CancellationToken.None);
        await backend.WriteAsync("a/second", new MemoryStream([1, 2]), CancellationToken.None);

        Assert.That(stat, Is.Not.Null);
        Assert.That(Encoding.UTF8.GetString(buffer, 0, read), Is.EqualTo("before"));
        Assert.That(backend.DaemonProcessId, Is.Not.Null.And.Not.EqualTo(first));
        Assert.That(logs.Lines.Count(l => l.Level == LogLevel.Warning && l.Message.Contains("exited", StringComparison.Ordinal)), Is.EqualTo(1),
            string.Join('\n', logs.Lines.Select(l => l.Message)));
    }

    [Test]
    public async Task Concurrent_first_calls_share_one_rcd_start()
    {
        var logs = new CapturingLoggerFactory();
        await using var backend = LocalBackend(logs);
        _root.WriteFile("empty", []);

        var stats = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => backend.StatAsync("empty", CancellationToken.None).AsTask()));
        var read = await backend.ReadAtAsync("empty", 0, new byte[8], CancellationToken.None);

        Assert.That(stats.Select(s => s?.Size), Is.All.EqualTo(0));
        Assert.That(read, Is.Zero);
        Assert.That(logs.Lines.Count(l => l.Message.StartsWith("rclone rcd started", StringComparison.Ordinal)), Is.EqualTo(1));
    }

    [Test]
    public async Task Dispose_stops_the_rcd_it_started()
    {
        var backend = LocalBackend();
        await backend.ListAsync("", false, CancellationToken.None).ToListAsync();
        var pid = backend.DaemonProcessId!.Value;
        Assert.That(IsRunning(pid), Is.True);

        await backend.DisposeAsync();

        Assert.That(IsRunning(pid), Is.False);
    }

    [Test]
    public async Task Rcd_listens_on_loopback_only_and_refuses_requests_without_its_credentials()
    {
        await using var backend = LocalBackend();
        await backend.ListAsync("", false, CancellationToken.None).ToListAsync();
        var arguments = File.ReadAllText($"/proc/{backend.DaemonProcessId}/cmdline").Split('\0');
        var address = arguments[Array.IndexOf(arguments, "--rc-addr") + 1];
        using var http = new HttpClient();

        using var response = await http.PostAsync($"http://{address}/core/version", new StringContent("{}"));

        Assert.That(address, Does.StartWith("127.0.0.1:"));
        Assert.That(arguments, Does.Not.Contain("--rc-no-auth"));
        Assert.That((int)response.StatusCode, Is.EqualTo(401));
    }

    [Test]
    public void A_remote_type_rclone_does_not_have_is_named_when_the_backend_is_created()
    {
        var e = Assert.Throws<BackendConfigException>(() => _ = new RcloneBackend("rclone-bad-type", new Dictionary<string, string> { ["type"] = "nosuchremote" }));

        TestContext.Out.WriteLine(e!.Message);
        Assert.That(e.ConfigKey, Is.EqualTo("type"));
        Assert.That(e.Problem, Does.StartWith("rclone has no remote type \"nosuchremote\" (known: ").And.Contain("webdav"));
    }

    [TestCase("copy_linkz", "copy_linkz")]
    [TestCase("copy_linkz_env", "copy_linkz_env")]
    public void An_option_the_remote_type_does_not_have_is_named_with_the_types_options(string key, string named)
    {
        Environment.SetEnvironmentVariable("WD_RCLONE_OPTION_TEST", "true");
        var config = new Dictionary<string, string> { ["type"] = "local", ["path"] = _root.Path, [key] = key.EndsWith("_env", StringComparison.Ordinal) ? "WD_RCLONE_OPTION_TEST" : "true" };

        var e = Assert.Throws<BackendConfigException>(() => _ = new RcloneBackend("rclone-bad-option", config));

        Assert.That(e!.ConfigKey, Is.EqualTo(named));
        Assert.That(e.Problem, Does.StartWith("not an option of rclone remote type local").And.Contain("copy_links"));
    }

    [Test]
    public async Task The_remotes_own_options_are_accepted()
    {
        await using var backend = new RcloneBackend("rclone-good-option", new Dictionary<string, string> { ["type"] = "local", ["path"] = _root.Path, ["copy_links"] = "true" });

        Assert.That(await backend.StatAsync("", CancellationToken.None), Is.Not.Null);
    }

    [Test]
    public void A_binary_that_does_not_exist_is_named_when_the_backend_is_created()
    {
        var missing = _root.Combine("no-such-rclone");

        var e = Assert.Throws<BackendConfigException>(() => _ = new RcloneBackend("rclone-missing", new Dictionary<string, string> { ["type"] = "local", ["rclone_binary"] = missing }));

        Assert.That(e!.ConfigKey, Is.EqualTo("rclone_binary"));
        Assert.That(e.Problem, Does.StartWith($"cannot run \"{missing}\" (not found); install rclone"));
    }

    [Test]
    public async Task A_webdav_remote_reads_and_writes_with_its_password_from_the_environment()
    {
        using var server = await RcloneTool.StartWebDavAsync("reader", WebDavPassword);
        Environment.SetEnvironmentVariable(PasswordVariable, WebDavPassword);
        await using var backend = new RcloneBackend("rclone-webdav", new Dictionary<string, string>
        {
            ["type"] = "webdav",
            ["url"] = $"http://127.0.0.1:{server.Port}",
            ["user"] = "reader",
            ["pass_env"] = PasswordVariable,
            ["path"] = "data",
        });
        var content = TestData.Bytes(70_000, 3);

        await backend.WriteAsync("sub/ü name.bin", new MemoryStream(content), CancellationToken.None);
        var listed = await backend.ListAsync("sub", false, CancellationToken.None).ToListAsync();
        var buffer = new byte[1000];
        var read = await backend.ReadAtAsync("sub/ü name.bin", 69_500, buffer, CancellationToken.None);

        Assert.That(listed.Select(e => (e.Path, e.Size)), Is.EqualTo(new[] { ("sub/ü name.bin", 70_000L) }));
        Assert.That(read, Is.EqualTo(500));
        Assert.That(buffer.AsSpan(0, 500).SequenceEqual(content.AsSpan(69_500)), Is.True);
    }

    [Test]
    public async Task Credentials_never_appear_in_exception_messages_or_logs()
    {
        using var server = await RcloneTool.StartWebDavAsync("reader", "the-server-password");
        Environment.SetEnvironmentVariable(PasswordVariable, WebDavPassword);
        var logs = new CapturingLoggerFactory();
        var config = new Dictionary<string, string>
        {
            ["type"] = "webdav",
            ["url"] = $"http://127.0.0.1:{server.Port}",
            ["user"] = "reader",
            ["pass_env"] = PasswordVariable,
        };
        var failures = new List<Exception>();
        string rcPassword;
        await using (var backend = (RcloneBackend)BackendFactory.Create("rclone-secrets", "rclone", config, new BackendServices { LoggerFactory = logs }))
        {
            failures.Add(Assert.ThrowsAsync<BackendException>(async () => await backend.WriteAsync("x", new MemoryStream([1]), CancellationToken.None))!);
            failures.Add(Assert.ThrowsAsync<BackendException>(async () => await backend.ListAsync("", true, CancellationToken.None).ToListAsync())!);
            failures.Add(Assert.ThrowsAsync<BackendException>(async () => await backend.ReadAtAsync("x", 0, new byte[4], CancellationToken.None))!);
            failures.Add(Assert.ThrowsAsync<BackendException>(async () => await backend.OpenReadAsync("x", CancellationToken.None))!);
            rcPassword = RcPasswordOf(backend.DaemonProcessId!.Value);
        }
        // An unknown remote type is refused at creation now (it used to reach rcd, which echoes the call's input).
        failures.Add(Assert.Throws<BackendConfigException>(() => _ = new RcloneBackend("rclone-secrets-type", new Dictionary<string, string>(config) { ["type"] = "nosuchremote" }, logs))!);

        var everything = string.Join('\n', failures.Select(f => f.ToString()).Concat(logs.Lines.Select(l => l.Message)));
        TestContext.Out.WriteLine(everything);
        Assert.That(failures.OfType<BackendException>().Select(f => f.Kind), Has.Member(BackendErrorKind.AccessDenied));
        Assert.That(logs.Lines, Is.Not.Empty);
        Assert.That(rcPassword, Has.Length.GreaterThan(16));
        Assert.That(everything, Does.Not.Contain(WebDavPassword));
        Assert.That(everything, Does.Not.Contain(rcPassword));
    }

    [Test]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task An_rcd_that_never_answers_is_unavailable_with_a_clear_message_and_is_stopped()
    {
        // A stand-in for rclone that starts but never serves: records its pid, then sleeps.
        var pidFile = _root.Combine("pid");
        var script = _root.WriteFile("silent-rclone-test-double.sh", Encoding.UTF8.GetBytes($"#!/bin/sh\necho $$ > '{pidFile}'\nexec sleep 60\n"));
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        await using var backend = new RcloneBackend("rclone-silent", new Dictionary<string, string>
        {
            ["type"] = "local",
            ["rclone_binary"] = script,
            ["rclone_start_timeout"] = "1s",
            ["retry_base_delay"] = "10ms",
        });

        var e = Assert.ThrowsAsync<BackendException>(async () => await backend.StatAsync("x", CancellationToken.None));

        Assert.That(e!.Kind, Is.EqualTo(BackendErrorKind.Unavailable), e.Message);
        Assert.That(e.Message, Does.Contain("did not answer core/version within 1s"));
        Assert.That(IsRunning(int.Parse(File.ReadAllText(pidFile).Trim())), Is.False);
    }

    [Test]
    public async Task Shared_knobs_are_not_passed_to_rclone_and_the_etag_follows_size_and_mtime()
    {
        await using var backend = LocalBackend(extra: new Dictionary<string, string> { ["page_size"] = "2", ["timeout"] = "10s", ["retry_base_delay"] = "50ms" });
        _root.WriteFile("f", [1, 2, 3]);
        File.SetLastWriteTimeUtc(_root.Combine("f"), new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc));

        var before = await backend.StatAsync("f", CancellationToken.None);
        File.SetLastWriteTimeUtc(_root.Combine("f"), new DateTime(2024, 1, 2, 3, 4, 6, DateTimeKind.Utc));
        var after = await backend.StatAsync("f", CancellationToken.None);
        var root = await backend.StatAsync("", CancellationToken.None);

        Assert.That(before!.LastModified, Is.EqualTo(new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero)));
        Assert.That(before.Size, Is.EqualTo(3));
        Assert.That(after!.ETag, Is.Not.EqualTo(before.ETag));
        Assert.That(root, Is.Not.Null);
        Assert.That(root!.IsDirectory, Is.True);
    }

    private static string RcPasswordOf(int pid) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0').Single(v => v.StartsWith("RCLONE_RC_PASS=", StringComparison.Ordinal))["RCLONE_RC_PASS=".Length..];
}
