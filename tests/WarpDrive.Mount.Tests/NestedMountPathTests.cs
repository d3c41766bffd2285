using WarpDrive.PosixConformance;

namespace WarpDrive.Mount.Tests;

/// <summary>Several backends below one mount point: synthesised parent directories and each backend under its mount_path.</summary>
[NonParallelizable]
public sealed class NestedMountPathTests
{
    [Test]
    public async Task RecursiveListingShowsSynthesisedParentsAndEveryBackendUnderItsPath()
    {
        using var sandbox = new TestSandbox();
        var backends = new[]
        {
            new LocalBackend("outer", "/datasets/a", sandbox.CreateSource("outer")),
            new LocalBackend("inner", "/datasets/a/b", sandbox.CreateSource("inner")),
            new LocalBackend("sibling", "/datasets/c/d/e", sandbox.CreateSource("sibling")),
        };
        foreach (var backend in backends)
        {
            WriteSource(backend, $"{backend.Name}.txt", 100);
            WriteSource(backend, $"sub/{backend.Name}-inner.bin", 5000);
        }

        await using var agent = await AgentProcess.StartMountedAsync(sandbox, AgentConfig.ForSandbox(sandbox, backends));

        var listed = Directory.EnumerateFileSystemEntries(sandbox.MountPoint, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(sandbox.MountPoint, p)).ToList();
        string[] expected =
        [
            "datasets", "datasets/c", "datasets/c/d",                                       // synthesised parents
            "datasets/a", "datasets/a/outer.txt", "datasets/a/sub", "datasets/a/sub/outer-inner.bin",
            "datasets/a/b",                                                                 // inner's root inside outer
            "datasets/a/b/inner.txt", "datasets/a/b/sub", "datasets/a/b/sub/inner-inner.bin",
            "datasets/c/d/e", "datasets/c/d/e/sibling.txt", "datasets/c/d/e/sub", "datasets/c/d/e/sub/sibling-inner.bin",
        ];
        Assert.That(listed, Is.EquivalentTo(expected), $"recursive listing of {sandbox.MountPoint}");

        foreach (var parent in new[] { "datasets", "datasets/c", "datasets/c/d", "datasets/a/b" })
        {
            var status = PosixCalls.Stat(Path.Combine(sandbox.MountPoint, parent));
            Assert.That(status.IsDirectory && !status.HasWriteBits, Is.True, $"{parent}: mode {status.ModeOctal}, expected a read-only directory");
        }

        foreach (var backend in backends)
        {
            foreach (var (relative, length) in new[] { ($"{backend.Name}.txt", 100), ($"sub/{backend.Name}-inner.bin", 5000) })
            {
                var mounted = Path.Combine(sandbox.MountPoint, backend.MountPath.TrimStart('/'), relative);
                var bytes = await File.ReadAllBytesAsync(mounted);
                Assert.That(bytes, Has.Length.EqualTo(length), mounted);
                Assert.That(DatasetContent.DescribeMismatch(SourceKey(backend, relative), mounted, 0, bytes), Is.Null);
            }
        }
    }

    [Test]
    public async Task DuplicateMountPathIsRefusedAsConfiguration()
    {
        using var sandbox = new TestSandbox();
        var config = AgentConfig.ForSandbox(sandbox,
            new LocalBackend("first", "/datasets/a", sandbox.CreateSource("first")),
            new LocalBackend("second", "/datasets/a", sandbox.CreateSource("second")));
        await using var agent = AgentProcess.Start(sandbox, config);
        Assert.That(await agent.WaitForExitAsync(), Is.EqualTo(2), agent.Stderr);
        Assert.That(agent.Stderr, Does.Contain("backends[1].mount_path"));
        Assert.That(MountTable.IsMounted(sandbox.MountPoint), Is.False, $"{sandbox.MountPoint} is mounted");
    }

    /// <summary>Content differs per backend as well as per path, so a file served from the wrong backend is caught.</summary>
    private static string SourceKey(LocalBackend backend, string relative) => $"{backend.Name}:{relative}";

    private static void WriteSource(LocalBackend backend, string relative, int length)
    {
        var path = Path.Combine(backend.Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, DatasetContent.Range(SourceKey(backend, relative), 0, length));
    }
}
