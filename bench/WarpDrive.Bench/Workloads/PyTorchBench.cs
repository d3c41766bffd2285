using WarpDrive.Bench.Targets;

namespace WarpDrive.Bench.Workloads;

/// <summary>
/// pytorch-jpeg / pytorch-tar: a real torch DataLoader (<see cref="PyTorchLoader"/>) with several workers over the
/// ImageFolder tree of JPEGs (shuffled) or over tar shards of the same images, decoding every image. Epoch 1 starts
/// cold ("cold"), epoch 2 follows without dropping anything ("hot", the warm epoch). Samples/s.
/// </summary>
internal sealed class PyTorchBench(BenchDataset data, BenchSizes sizes, PyTorchLoader loader, string kind) : IWorkload
{
    private const int BatchSize = 32;

    public string Name => $"pytorch-{kind}";

    public string Description => kind == "jpeg"
        ? $"torch DataLoader, {sizes.LoaderWorkers} workers, batch {BatchSize}, over an ImageFolder tree of {sizes.Images:N0} JPEGs (~120 KiB, {sizes.ImageClasses} classes), shuffled; cold epoch, then warm epoch (samples/s, higher is better)"
        : $"torch DataLoader, {sizes.LoaderWorkers} workers, batch {BatchSize}, over {sizes.ImageShards} tar shards of the same {sizes.Images:N0} JPEGs; cold epoch, then warm epoch (samples/s, higher is better)";

    public IReadOnlyList<Row> Run(ITarget target)
    {
        var bytes = TreeBytes();
        var cold = new Figure(Name, target, "cold", "samples/s", higherIsBetter: true) { Note = "epoch 1", BytesPerRun = bytes };
        var warm = new Figure(Name, target, "hot", "samples/s", higherIsBetter: true) { Note = "epoch 2", BytesPerRun = bytes };
        for (var run = 0; run < sizes.SlowRepeats; run++)
        {
            target.MakeCold();
            cold.Measure(() => Epoch(target, (run * 2) + 1));
            warm.Measure(() => Epoch(target, (run * 2) + 2));
        }

        return [cold.Build(), warm.Build()];
    }

    private double Epoch(ITarget target, int seed)
    {
        var (rate, samples) = loader.Epoch(Path.Combine(target.Root, data.ImagesDirectory), kind, sizes.LoaderWorkers, BatchSize, seed);
        return samples == sizes.Images ? rate : throw new InvalidOperationException($"{target.Name}: the loader saw {samples} samples, expected {sizes.Images}");
    }

    /// <summary>Bytes one epoch reads (for CPU per GiB), from the source tree.</summary>
    private long TreeBytes() =>
        new DirectoryInfo(Path.Combine(data.Root, data.ImagesDirectory, kind)).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
}
