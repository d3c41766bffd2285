global using NUnit.Framework;
using k8s;

namespace WarpDrive.E2E.Tests;

/// <summary>
/// The cluster under test, shared by every fixture. When no API server answers, every test in the assembly is
/// reported Ignored with the reason (printed too, so CI's summary says why nothing ran).
/// </summary>
[SetUpFixture]
public sealed class Cluster
{
    public const string NotReachable = "no Kubernetes API server reachable (set KUBECONFIG)";

    private static Kubernetes? client;

    public static Kubernetes Client => client ?? throw new InvalidOperationException("cluster not set up");

    /// <summary>The kubeconfig the operator processes get: the same one the tests use.</summary>
    public static string? KubeConfigPath { get; private set; }

    [OneTimeSetUp]
    public async Task ConnectAsync()
    {
        KubeConfigPath = Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } path
            ? path
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
        string? problem = null;
        try
        {
            var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(KubeConfigPath);
            var candidate = new Kubernetes(config);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var version = await candidate.Version.GetCodeAsync(timeout.Token);
            TestContext.Progress.WriteLine($"e2e: API server {config.Host} (Kubernetes {version.GitVersion})");
            client = candidate;
        }
        catch (Exception error)
        {
            problem = $"{NotReachable}: {error.GetType().Name}: {error.Message}";
        }

        if (problem is not null)
        {
            TestContext.Progress.WriteLine($"e2e: skipped, {problem}");
            Assert.Ignore(problem);
        }
    }

    [OneTimeTearDown]
    public void Disconnect() => client?.Dispose();
}
