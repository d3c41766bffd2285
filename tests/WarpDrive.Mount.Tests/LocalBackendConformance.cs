using WarpDrive.PosixConformance;

namespace WarpDrive.Mount.Tests;

/// <summary>The POSIX read-conformance suite over a local backend, mounted by the real agent process.</summary>
[NonParallelizable]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "NUnit releases fixtures through OneTimeTearDown, which calls CleanUpAsync")]
public sealed class LocalBackendConformance : PosixReadConformance
{
    private const string MountPath = "/datasets/local";
    private TestSandbox? _sandbox;
    private string? _source;
    private AgentProcess? _agent;

    protected override Task PrepareSourceAsync()
    {
        _sandbox = new TestSandbox();
        _source = _sandbox.CreateSource("local");
        return Task.CompletedTask;
    }

    protected override async Task WriteSourceAsync(string relativePath, Stream content)
    {
        var path = Path.Combine(_source!, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var file = File.Create(path);
        await content.CopyToAsync(file);
    }

    protected override async Task<string> MountAsync()
    {
        _agent = await AgentProcess.StartMountedAsync(_sandbox!, AgentConfig.ForSandbox(_sandbox!, new LocalBackend("local", MountPath, _source!)));
        return Path.Combine(_sandbox!.MountPoint, MountPath.TrimStart('/'));
    }

    protected override async Task CleanUpAsync()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
            _agent = null;
        }

        _sandbox?.Dispose();
        _sandbox = null;
    }
}
