using WarpDrive.Backends.Tests.Contract;

namespace WarpDrive.Mount.Tests.Backends;

/// <summary>
/// The POSIX read-conformance suite over a gcs backend against <see cref="GcsApiTestDouble"/> (no GCS emulator runs
/// here), served anonymously like a public bucket since the agent mounts it with <c>auth: none</c>.
/// </summary>
[NonParallelizable]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Reliability", "CA1001", Justification = "NUnit releases fixtures through OneTimeTearDown, which calls StopServer")]
public sealed class GcsBackendConformance : BackendConformance
{
    private const string Bucket = "conformance";
    private GcsApiTestDouble? _server;

    protected override string BackendType => "gcs";

    protected override Task<IReadOnlyDictionary<string, string>> StartServerAsync(TestSandbox sandbox)
    {
        _server = new GcsApiTestDouble(Bucket, token: null);
        IReadOnlyDictionary<string, string> config = new Dictionary<string, string>
        {
            ["bucket"] = Bucket,
            ["endpoint"] = $"http://127.0.0.1:{_server.Port}",
        };
        return Task.FromResult(config);
    }

    protected override void StopServer()
    {
        _server?.Dispose();
        _server = null;
    }
}
