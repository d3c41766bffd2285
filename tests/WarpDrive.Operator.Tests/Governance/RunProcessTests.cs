using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using WarpDrive.Operator.Install;

namespace WarpDrive.Operator.Tests.Governance;

/// <summary>
/// The real <c>warpdrive-operator run</c> process, its kubeconfig pointing at <see cref="KubernetesApiTestDouble"/>:
/// the control plane is up before any cache has synced (the double serves no informer lists), checks tokens with
/// TokenReview through the process's own client, and is stopped cleanly by SIGTERM.
/// </summary>
public sealed class RunProcessTests
{
    [Test]
    public async Task Run_serves_the_control_plane_with_token_review_and_stops_on_sigterm()
    {
        await using var apiServer = await KubernetesApiTestDouble.StartAsync();
        apiServer.AddToken("reader-token", new KubernetesApiTestDouble.Identity("bob", ["warpdrive:readers"], ["warpdrive-control-plane"]));
        var dir = Directory.CreateTempSubdirectory("wd-operator-run-").FullName;
        Process? process = null;
        try
        {
            var kubeconfig = Path.Combine(dir, "kubeconfig");
            await File.WriteAllTextAsync(kubeconfig, $"""
                apiVersion: v1
                kind: Config
                clusters: [{"{"}name: double, cluster: {"{"}server: "{apiServer.BaseAddress.ToString().TrimEnd('/')}"{"}"}{"}"}]
                users: [{"{"}name: nobody, user: {"{"}token: operator-sa-token{"}"}{"}"}]
                contexts: [{"{"}name: double, context: {"{"}cluster: double, user: nobody{"}"}{"}"}]
                current-context: double
                """);
            var port = FreePort();
            var output = new StringBuilder();
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[]
            {
                typeof(InstallManifests).Assembly.Location, "run", "--namespace", "wd-test", "--leader-elect=false",
                "--control-plane-addr", $"127.0.0.1:{port}", "--control-plane-database", $"sqlite://{dir}/cp.db",
            })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["KUBECONFIG"] = kubeconfig;
            start.Environment.Remove("KUBERNETES_SERVICE_HOST");
            process = Process.Start(start)!;
            process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(30) };
            await WaitForHealthAsync(http, process, output);

            var reviewsBefore = apiServer.TokenReviews;
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/usage");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "reader-token");
            using var usage = await http.SendAsync(request);
            using var noToken = await http.GetAsync("api/v1/usage");

            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail("the operator did not stop within 20 s of SIGTERM: " + output);
            }

            Assert.Multiple(() =>
            {
                Assert.That(usage.StatusCode, Is.EqualTo(HttpStatusCode.OK), output.ToString());
                Assert.That(noToken.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
                Assert.That(apiServer.TokenReviews - reviewsBefore, Is.EqualTo(1));
                Assert.That(process.ExitCode, Is.Zero, output.ToString());
                Assert.That(File.Exists(Path.Combine(dir, "cp.db")), Is.True);
                Assert.That(output.ToString(), Does.Not.Contain("reader-token").And.Not.Contain("operator-sa-token"));
            });
        }
        finally
        {
            if (process is not null)
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    await process.WaitForExitAsync();
                }

                process.Dispose();
            }

            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task WaitForHealthAsync(HttpClient http, Process process, StringBuilder output)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        while (true)
        {
            Assert.That(process.HasExited, Is.False, () => "the operator exited: " + output);
            try
            {
                using var health = await http.GetAsync("healthz", deadline.Token);
                if (health.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100, deadline.Token);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
