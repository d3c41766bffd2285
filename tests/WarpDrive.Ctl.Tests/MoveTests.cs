using System.Text.Json;

namespace WarpDrive.Ctl.Tests;

public sealed class MoveTests
{
    private Sandbox _sandbox = null!;
    private Dictionary<string, byte[]> _files = null!;

    [SetUp]
    public void SetUp()
    {
        _sandbox = new Sandbox();
        _files = new Dictionary<string, byte[]>
        {
            ["a.bin"] = _sandbox.WriteSource("data/a.bin", 200_000),
            ["b.bin"] = _sandbox.WriteSource("data/b.bin", 1),
            ["deep/c.bin"] = _sandbox.WriteSource("data/deep/c.bin", 3_000_000),
            ["deep/d.bin"] = _sandbox.WriteSource("data/deep/d.bin", 0),
        };
    }

    [TearDown]
    public void TearDown() => _sandbox.Dispose();

    [Test]
    public async Task CopiesEveryObjectVerifiedAndKeepsTheSource()
    {
        var result = await Move("--format", "json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        var summary = JsonDocument.Parse(result.Stdout).RootElement[0];
        Assert.Multiple(() =>
        {
            Assert.That(summary.GetProperty("copied").GetInt32(), Is.EqualTo(4));
            Assert.That(summary.GetProperty("deleted").GetInt32(), Is.Zero);
            Assert.That(result.Stderr, Does.Contain("copy: 4/4 files"));
            foreach (var (name, content) in _files)
            {
                Assert.That(File.ReadAllBytes(Path.Combine(_sandbox.DestinationRoot, "copy", name)), Is.EqualTo(content), name);
                Assert.That(File.Exists(Path.Combine(_sandbox.SourceRoot, "data", name)), Is.True, name);
            }

            var journal = File.ReadAllLines(Path.Combine(_sandbox.Root, "move.state"));
            Assert.That(journal, Has.Length.EqualTo(4));
            Assert.That(journal.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("xxh128").GetString()), Has.All.Length.EqualTo(32));
        });
    }

    [Test]
    public async Task AnInterruptedRunResumesWithoutCopyingAgain()
    {
        // A directory where c.bin must go makes that one copy fail mid-run; the others are journaled.
        var blocker = Path.Combine(_sandbox.DestinationRoot, "copy", "deep", "c.bin");
        Directory.CreateDirectory(Path.Combine(blocker, "x"));
        var failed = await Move();
        Assert.Multiple(() =>
        {
            Assert.That(failed.ExitCode, Is.EqualTo(1), failed.ToString());
            Assert.That(failed.Stderr, Does.Contain("src:data/deep/c.bin"));
            Assert.That(failed.Stdout, Does.Contain("3 copied and verified").And.Contain("1 failed"));
        });

        Directory.Delete(blocker, recursive: true);
        var destinationA = Path.Combine(_sandbox.DestinationRoot, "copy", "a.bin");
        var stampBefore = File.GetLastWriteTimeUtc(destinationA);
        var resumed = await Move("--resume", "--format", "json");

        Assert.That(resumed.ExitCode, Is.Zero, resumed.ToString());
        var summary = JsonDocument.Parse(resumed.Stdout).RootElement[0];
        Assert.Multiple(() =>
        {
            Assert.That(summary.GetProperty("skipped").GetInt32(), Is.EqualTo(3));
            Assert.That(summary.GetProperty("copied").GetInt32(), Is.EqualTo(1));
            Assert.That(File.GetLastWriteTimeUtc(destinationA), Is.EqualTo(stampBefore), "a journaled copy is not written again");
            Assert.That(File.ReadAllBytes(Path.Combine(_sandbox.DestinationRoot, "copy", "deep", "c.bin")), Is.EqualTo(_files["deep/c.bin"]));
        });
    }

    [Test]
    public async Task ASourceChangedSinceTheJournalIsCopiedAgainOnResume()
    {
        Assert.That((await Move()).ExitCode, Is.Zero);
        var changed = _sandbox.WriteSource("data/a.bin", 123);
        File.SetLastWriteTimeUtc(Path.Combine(_sandbox.SourceRoot, "data", "a.bin"), DateTime.UtcNow.AddMinutes(5));

        var resumed = await Move("--resume", "--format", "json");

        var summary = JsonDocument.Parse(resumed.Stdout).RootElement[0];
        Assert.Multiple(() =>
        {
            Assert.That((summary.GetProperty("copied").GetInt32(), summary.GetProperty("skipped").GetInt32()), Is.EqualTo((1, 3)));
            Assert.That(File.ReadAllBytes(Path.Combine(_sandbox.DestinationRoot, "copy", "a.bin")), Is.EqualTo(changed));
        });
    }

    [Test]
    public async Task DeleteSourceMovesTheObjects()
    {
        var result = await Move("--delete-source");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(result.Stdout, Does.Contain("4 sources deleted"));
            Assert.That(Directory.GetFiles(Path.Combine(_sandbox.SourceRoot, "data"), "*", SearchOption.AllDirectories), Is.Empty);
            foreach (var (name, content) in _files)
            {
                Assert.That(File.ReadAllBytes(Path.Combine(_sandbox.DestinationRoot, "copy", name)), Is.EqualTo(content), name);
            }
        });
    }

    [Test]
    public async Task AFailedCopyKeepsItsSourceUnderDeleteSource()
    {
        Directory.CreateDirectory(Path.Combine(_sandbox.DestinationRoot, "copy", "b.bin", "x"));
        var result = await Move("--delete-source");

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(File.Exists(Path.Combine(_sandbox.SourceRoot, "data", "b.bin")), Is.True, "not verified, so not deleted");
            Assert.That(File.Exists(Path.Combine(_sandbox.SourceRoot, "data", "a.bin")), Is.False);
        });
    }

    [Test]
    public async Task MovingIntoItselfIsAUsageError()
    {
        var result = await CtlProcess.RunAsync("move", "--config", _sandbox.ConfigPath, "--from", "src:data", "--to", "src:data/inner");
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2));
            Assert.That(result.Stderr, Does.Contain("--to must not be --from or inside it"));
        });
    }

    private Task<CtlResult> Move(params string[] extra) =>
        CtlProcess.RunAsync(["move", "--config", _sandbox.ConfigPath, "--from", "src:data", "--to", "dst:copy", "--state", Path.Combine(_sandbox.Root, "move.state"), .. extra]);
}
