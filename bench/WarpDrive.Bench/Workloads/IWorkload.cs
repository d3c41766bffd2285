using WarpDrive.Bench.Targets;

namespace WarpDrive.Bench.Workloads;

/// <summary>One benchmark: runs against a target (making it cold or hot itself) and returns its figures.</summary>
internal interface IWorkload
{
    string Name { get; }

    /// <summary>What the figures measure, for the report.</summary>
    string Description { get; }

    IReadOnlyList<Row> Run(ITarget target);
}
