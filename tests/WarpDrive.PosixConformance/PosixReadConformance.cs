namespace WarpDrive.PosixConformance;

/// <summary>
/// POSIX read conformance of a mounted read-only tree, whatever backend is behind it. A subclass says how a
/// file gets into its backend (<see cref="WriteSourceAsync"/>), how the mount starts (<see cref="MountAsync"/>)
/// and how everything is released (<see cref="CleanUpAsync"/>); the suite builds a <see cref="ConformanceDataset"/>
/// through the first, mounts through the second and checks the kernel's view against the dataset.
/// The tests only read, so they share one mount and run in any order.
/// </summary>
public abstract partial class PosixReadConformance
{
    private ConformanceDataset? _dataset;
    private string? _mountedRoot;

    /// <summary>Entries of the large directory. Lower it for backends where writing 10,000 objects is slow.</summary>
    protected virtual int LargeDirectoryEntryCount => 10_000;

    protected ConformanceDataset Dataset => _dataset ?? throw new InvalidOperationException("the dataset is built in OneTimeSetUp");

    /// <summary>The directory inside the mount that shows the source, as returned by <see cref="MountAsync"/>.</summary>
    protected string MountedRoot => _mountedRoot ?? throw new InvalidOperationException("the tree is mounted in OneTimeSetUp");

    [OneTimeSetUp]
    public async Task BuildDatasetAndMountAsync()
    {
        try
        {
            _dataset = new ConformanceDataset(LargeDirectoryEntryCount);
            await PrepareSourceAsync();
            foreach (var file in _dataset.Files)
            {
                await using var content = DatasetContent.OpenRead(file.RelativePath, file.Length);
                await WriteSourceAsync(file.RelativePath, content);
            }

            _mountedRoot = await MountAsync();
            Assert.That(Directory.Exists(_mountedRoot), Is.True, $"MountAsync returned {_mountedRoot}, which is not a directory");
        }
        catch
        {
            // NUnit runs OneTimeTearDown only after a successful OneTimeSetUp: release what was started here.
            await CleanUpAsync();
            throw;
        }
    }

    [OneTimeTearDown]
    public Task TearDownAsync() => CleanUpAsync();

    /// <summary>Called once before the first <see cref="WriteSourceAsync"/>: create the bucket, container or directory.</summary>
    protected virtual Task PrepareSourceAsync() => Task.CompletedTask;

    /// <summary>
    /// Stores one file of the dataset in the backend at <paramref name="relativePath"/> ('/'-separated, no leading
    /// slash; parents must be created as needed). <paramref name="content"/> is seekable, knows its Length, and is
    /// disposed by the caller.
    /// </summary>
    protected abstract Task WriteSourceAsync(string relativePath, Stream content);

    /// <summary>Mounts the backend and returns the directory in the mount that shows what <see cref="WriteSourceAsync"/> wrote.</summary>
    protected abstract Task<string> MountAsync();

    /// <summary>Unmounts, stops processes and deletes the source. Must be safe after a partial setup, and idempotent.</summary>
    protected abstract Task CleanUpAsync();

    /// <summary>The mounted path of a dataset path.</summary>
    protected string Mounted(string relativePath) =>
        relativePath.Length == 0 ? MountedRoot : Path.Combine(MountedRoot, relativePath);
}
