using System.Diagnostics;
using NUnit.Framework;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>The real <c>warpdrive-node</c> executable offers <c>--kube</c> and the ConfigMap flags on <c>csi</c>.</summary>
[TestFixture]
public sealed class CsiHelpTests
{
    [Test]
    public async Task CsiHelpShowsTheKubeOption()
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "warpdrive-node.dll"), "csi", "--help" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var reading = process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        var output = await reading;
        await process.WaitForExitAsync();

        Assert.Multiple(() =>
        {
            Assert.That(process.ExitCode, Is.Zero, errors);
            Assert.That(output, Does.Contain("--kube").And.Contain("WarpCacheWarm").And.Contain("--configmap ").And.Contain("--configmap-namespace"));
        });
    }
}
