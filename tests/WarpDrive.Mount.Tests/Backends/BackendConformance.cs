using System.Text;
using WarpDrive.Backends;
using WarpDrive.PosixConformance;

namespace WarpDrive.Mount.Tests.Backends;

/// <summary>
/// The POSIX read-conformance suite over one backend type served by a real protocol server on 127.0.0.1: a
/// subclass starts the server and says how to reach it (the backend's config map); this class writes the dataset
/// through the project's own backend (<see cref="BackendFactory"/>), mounts the same config with the real
/// <c>warpdrive-node mount</c> (cache on, as by default) and releases everything, in reverse order, even after a
/// partial setup.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "NUnit releases fixtures through OneTimeTearDown, which calls CleanUpAsync")]
public abstract class BackendConformance : PosixReadConformance
{
    private const string MountPath = "/datasets/remote";
    private TestSandbox? _sandbox;
    private IReadOnlyDictionary<string, string>? _config;
    private IBackend? _writer;
    private AgentProcess? _agent;

    /// <summary>The <c>backends[].type</c> under test.</summary>
    protected abstract string BackendType { get; }

    /// <summary>Starts the server (its data below <paramref name="sandbox"/>), and returns the backend's config map.</summary>
    protected abstract Task<IReadOnlyDictionary<string, string>> StartServerAsync(TestSandbox sandbox);

    /// <summary>Stops what <see cref="StartServerAsync"/> started; called once, also after a partial start.</summary>
    protected abstract void StopServer();

    protected sealed override async Task PrepareSourceAsync()
    {
        _sandbox = new TestSandbox();
        _config = await StartServerAsync(_sandbox);
        _writer = BackendFactory.Create("writer", BackendType, _config); // the dataset goes in through the backend under test
    }

    protected sealed override async Task WriteSourceAsync(string relativePath, Stream content) =>
        await _writer!.WriteAsync(relativePath, content, CancellationToken.None);

    protected sealed override async Task<string> MountAsync()
    {
        _agent = AgentProcess.Start(_sandbox!, AgentYaml(), _sandbox!.MountPoint);
        await _agent.WaitForMountAsync();
        return Path.Combine(_sandbox.MountPoint, MountPath.TrimStart('/'));
    }

    protected sealed override async Task CleanUpAsync()
    {
        try
        {
            if (_agent is not null)
            {
                await _agent.DisposeAsync();
                _agent = null;
            }

            if (_writer is not null)
            {
                await _writer.DisposeAsync();
                _writer = null;
            }
        }
        finally
        {
            try
            {
                StopServer();
            }
            finally
            {
                _sandbox?.Dispose();
                _sandbox = null;
            }
        }
    }

    private string AgentYaml()
    {
        var yaml = new StringBuilder()
            .AppendLine($"mount_point: {Quote(_sandbox!.MountPoint)}")
            .AppendLine("cache:")
            .AppendLine($"  path: {Quote(_sandbox.CachePath)}")
            .AppendLine("metrics:")
            .AppendLine("  enabled: false")
            .AppendLine("backends:")
            .AppendLine("  - name: remote")
            .AppendLine($"    type: {BackendType}")
            .AppendLine($"    mount_path: {Quote(MountPath)}")
            .AppendLine("    config:");
        foreach (var (key, value) in _config!)
        {
            yaml.AppendLine($"      {key}: {Quote(value)}");
        }

        return yaml.ToString();
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
}
