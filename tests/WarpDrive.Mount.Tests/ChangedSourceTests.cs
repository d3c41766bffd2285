using WarpDrive.PosixConformance;

namespace WarpDrive.Mount.Tests;

/// <summary>A source file that changes is seen changed once the TTLs (all 1s here) have passed.</summary>
[NonParallelizable]
public sealed class ChangedSourceTests
{
    private const string Name = "changing.bin";

    /// <param name="replace">true: write a new file and rename it over the old (a new inode, as rsync does); false: rewrite in place.</param>
    /// <param name="holdOpen">keep a handle to the old version open across the change, as a training job would.</param>
    [TestCase(false, false)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public async Task NewContentAndSizeAreSeenAfterTheTtls(bool replace, bool holdOpen)
    {
        using var sandbox = new TestSandbox();
        var source = sandbox.CreateSource("changing");
        var sourceFile = Path.Combine(source, Name);
        await File.WriteAllBytesAsync(sourceFile, DatasetContent.Range("old", 0, 5000));
        File.SetLastWriteTimeUtc(sourceFile, DateTime.UtcNow.AddMinutes(-10));

        var config = AgentConfig.ForSandbox(sandbox, new LocalBackend("changing", "/changing", source)) with
        {
            EntryTtl = "1s",
            AttrTtl = "1s",
            StatTtl = "1s",
        };
        await using var agent = await AgentProcess.StartMountedAsync(sandbox, config);
        var mounted = Path.Combine(sandbox.MountPoint, "changing", Name);
        Assert.That(DatasetContent.DescribeMismatch("old", mounted, 0, await File.ReadAllBytesAsync(mounted)), Is.Null, "before the change");

        using var held = holdOpen ? new FileStream(mounted, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0) : null;
        var newContent = DatasetContent.Range("new", 0, 12_345);
        if (replace)
        {
            var temporary = Path.Combine(source, "." + Name + ".tmp");
            await File.WriteAllBytesAsync(temporary, newContent);
            File.Move(temporary, sourceFile, overwrite: true);
        }
        else
        {
            await File.WriteAllBytesAsync(sourceFile, newContent);
        }

        File.SetLastWriteTimeUtc(sourceFile, DateTime.UtcNow);
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.That(PosixCalls.Stat(mounted).Size, Is.EqualTo(newContent.Length), $"size of {mounted} after the change");
        var bytes = await File.ReadAllBytesAsync(mounted);
        Assert.That(bytes, Has.Length.EqualTo(newContent.Length), $"bytes read from {mounted} after the change");
        Assert.That(DatasetContent.DescribeMismatch("new", mounted, 0, bytes), Is.Null, "after the change");
    }
}
