using System.Diagnostics;
using WarpDrive.Operator.Install;

namespace WarpDrive.Operator.Tests.Governance;

/// <summary>Bad <c>--control-plane-*</c> flags stop <c>warpdrive-operator run</c> with exit 2 before it touches a cluster.</summary>
public sealed class RunFlagsTests
{
    [TestCase("--control-plane-addr", "nowhere", "listen address 'nowhere'")]
    [TestCase("--control-plane-database", "mysql://db", "database")]
    [TestCase("--control-plane-admins", "group:", "subject 'group:'")]
    [TestCase("--control-plane-audience", " ", "audience")]
    public async Task Bad_flag_exits_2_with_a_message(string flag, string value, string message)
    {
        var (exitCode, stderr) = await RunAsync("run", flag, value);
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(stderr, Does.Contain("control plane:").And.Contain(message).And.Not.Contain("(Parameter"));
        });
    }

    [Test]
    public async Task A_password_in_the_database_url_is_refused_without_being_printed()
    {
        var (exitCode, stderr) = await RunAsync("run", "--control-plane-database", "postgres://wd:hunter2-secret@db:5432/warpdrive");
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.EqualTo(2));
            Assert.That(stderr, Does.Contain("password"));
            Assert.That(stderr, Does.Not.Contain("hunter2-secret"));
        });
    }

    private static async Task<(int ExitCode, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(typeof(InstallManifests).Assembly.Location);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // No cluster may be reached by accident: the flags must be refused before any client exists.
        start.Environment["KUBECONFIG"] = "/nonexistent/kubeconfig";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        await stdout;
        return (process.ExitCode, await stderr);
    }
}
