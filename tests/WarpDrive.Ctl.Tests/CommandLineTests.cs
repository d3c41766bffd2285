namespace WarpDrive.Ctl.Tests;

/// <summary>Exit codes, help and error messages of the command line itself.</summary>
public sealed class CommandLineTests
{
    private static readonly string[][] Commands =
    [
        [], ["warm"], ["stats"], ["usage"], ["stale"], ["quota"], ["quota", "set"], ["quota", "list"], ["status"], ["move"], ["serve"],
    ];

    [TestCaseSource(nameof(Commands))]
    public async Task EveryCommandHasHelp(string[] command)
    {
        var result = await CtlProcess.RunAsync([.. command, "--help"]);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(result.Stdout, Does.Contain("Usage:").And.Contain(string.Join(' ', ["warpdrive-ctl", .. command])));
            Assert.That(result.Stdout, Does.Contain("--format"), "global options are listed everywhere");
        });
    }

    [TestCase("usage", "--bogus")]
    [TestCase("usage", "--group-by", "planet")]
    [TestCase("usage", "--format", "xml")]
    [TestCase("stale", "--days", "-1")]
    [TestCase("stale", "--min-size", "lots")]
    [TestCase("quota", "set", "--team", "ml")]
    [TestCase("quota", "set", "--team", "ml", "--backend", "b", "--soft", "2GB", "--hard", "1GB")]
    [TestCase("warm", "--prefix", "x")]
    [TestCase("warm", "--prefix", "x", "--config", "/nonexistent.yaml", "--workers", "0")]
    [TestCase("move", "--from", "a:x")]
    [TestCase("nonsense")]
    public async Task BadArgumentsExitWithTwo(params string[] args)
    {
        var result = await CtlProcess.RunAsync(args);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.Stderr, Does.StartWith("warpdrive-ctl: "));
        });
    }

    [TestCase("usage")]
    [TestCase("stale")]
    [TestCase("quota", "list")]
    public async Task AnUnreachableServerExitsWithOneAndSaysSo(params string[] args)
    {
        var result = await CtlProcess.RunAsync([.. args, "--server", "http://127.0.0.1:1"]);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Stderr, Does.Contain("cannot reach the control plane at http://127.0.0.1:1").And.Contain("is it running?"));
        });
    }

    [Test]
    public async Task AMissingConfigFileIsAFailureNamingIt()
    {
        var result = await CtlProcess.RunAsync("warm", "--config", "/nonexistent/node.yaml", "--prefix", "x");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Stderr, Does.Contain("/nonexistent/node.yaml"));
        });
    }

    [Test]
    public async Task StatsOfADirectoryThatIsNoCacheFails()
    {
        var result = await CtlProcess.RunAsync("stats", "--cache-dir", Path.GetTempPath());
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
            Assert.That(result.Stderr, Does.Contain("is not a WarpDrive cache directory"));
        });
    }
}
