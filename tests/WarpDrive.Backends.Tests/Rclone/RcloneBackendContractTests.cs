using WarpDrive.Backends.Rclone;
using WarpDrive.Backends.Tests.Contract;

namespace WarpDrive.Backends.Tests.Rclone;

/// <summary>
/// The contract through a real `rclone rcd` per backend: rclone's own `local` remote over a temp directory, so
/// every call goes rc API / rc-serve / rclone backend for real. Refused credentials and a closed port use a
/// `webdav` remote against a real `rclone serve webdav` (the local remote has no credentials to refuse).
/// </summary>
[TestFixture]
public sealed class RcloneBackendContractTests : BackendContractTests
{
    private const string PasswordVariable = "WARPDRIVE_TEST_RCLONE_WEBDAV_PASS";
    private TempDirectory _root = null!;
    private ServerProcess _webdav = null!;

    [OneTimeSetUp]
    public async Task Start()
    {
        _root = new TempDirectory("rclone-contract");
        _webdav = await RcloneTool.StartWebDavAsync("reader", "the-right-password");
        Environment.SetEnvironmentVariable(PasswordVariable, "not-the-password");
    }

    [OneTimeTearDown]
    public void Stop()
    {
        _webdav?.Dispose();
        _root?.Dispose();
    }

    protected override IBackend CreateBackend(string prefix, IReadOnlyDictionary<string, string> extraConfig)
    {
        var config = new Dictionary<string, string> { ["type"] = "local", ["path"] = _root.Combine(prefix) };
        foreach (var (k, v) in extraConfig)
        {
            config[k] = v;
        }
        return BackendFactory.Create("rclone-test", "rclone", config);
    }

    protected override IBackend CreateBackendWithWrongCredentials() => new RcloneBackend("rclone-wrong", new Dictionary<string, string>
    {
        ["type"] = "webdav",
        ["url"] = $"http://127.0.0.1:{_webdav.Port}",
        ["user"] = "reader",
        ["pass_env"] = PasswordVariable,
    });

    protected override IBackend CreateUnreachableBackend(int closedPort, IReadOnlyDictionary<string, string> extraConfig)
    {
        var config = new Dictionary<string, string> { ["type"] = "webdav", ["url"] = $"http://127.0.0.1:{closedPort}" };
        foreach (var (k, v) in extraConfig)
        {
            config[k] = v;
        }
        return new RcloneBackend("rclone-unreachable", config);
    }
}
