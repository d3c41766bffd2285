namespace WarpDrive.Ctl.Tests;

/// <summary><c>serve</c> as a new user starts it: no tokens file yet, <c>--addr</c> as the docs write it.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ServeTests
{
    [Test]
    public async Task AFirstStartWithoutATokensFileCreatesAnAdminTokenOnlyItsOwnerCanRead()
    {
        using var sandbox = new Sandbox();
        var tokensFile = Path.Combine(sandbox.Root, "etc", "tokens.yaml");
        var tokenFile = Path.Combine(sandbox.Root, "etc", "admin.token");
        await using var serve = CtlProcess.Start(["serve", "--config", sandbox.ConfigPath, "--addr", "127.0.0.1:0",
            "--database", $"sqlite://{Path.Combine(sandbox.Root, "cp.db")}", "--tokens-file", tokensFile]);
        var line = await serve.WaitForStderrAsync("serving the control plane on ");
        var server = line[line.IndexOf("http", StringComparison.Ordinal)..].Split(' ')[0].TrimEnd('/');
        try
        {
            var ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            Assert.Multiple(() =>
            {
                Assert.That(serve.Stderr, Does.Contain($"no tokens file at {tokensFile}: created it with one admin token, stored in {tokenFile}"));
                Assert.That(File.GetUnixFileMode(tokenFile), Is.EqualTo(ownerOnly), "the token is readable by its owner only");
                Assert.That(File.GetUnixFileMode(tokensFile), Is.EqualTo(ownerOnly));
                Assert.That(File.ReadAllText(tokensFile), Does.Not.Contain(File.ReadAllText(tokenFile).Trim()), "the tokens file keeps only a digest");
                Assert.That(serve.Stderr, Does.Not.Contain(File.ReadAllText(tokenFile).Trim()), "the token is never logged");
            });

            var anonymous = await CtlProcess.RunAsync("quota", "list", "--server", server);
            var admin = await CtlProcess.RunAsync("quota", "set", "--team", "research", "--hard", "10TB", "--server", server, "--token-file", tokenFile);
            Assert.Multiple(() =>
            {
                Assert.That(anonymous.ExitCode, Is.EqualTo(1), "auth stays on: " + anonymous);
                Assert.That(anonymous.Stderr, Does.Contain("401"));
                Assert.That(admin.ExitCode, Is.Zero, "the generated token is an admin's: " + admin);
            });
        }
        finally
        {
            serve.Interrupt();
            var stopped = await serve.WaitAsync();
            Assert.That(stopped.ExitCode, Is.Zero, stopped.ToString());
        }

        // A second start finds the file and creates nothing.
        var before = File.ReadAllText(tokenFile);
        await using (var again = CtlProcess.Start(["serve", "--addr", "127.0.0.1:0", "--database", $"sqlite://{Path.Combine(sandbox.Root, "cp.db")}", "--tokens-file", tokensFile]))
        {
            await again.WaitForStderrAsync("serving the control plane on ");
            Assert.That(again.Stderr, Does.Not.Contain("created it"));
            again.Interrupt();
            await again.WaitAsync();
        }

        Assert.That(File.ReadAllText(tokenFile), Is.EqualTo(before));
    }
}
