using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace WarpDrive.Ctl.Tests;

/// <summary>
/// The real control plane: <c>warpdrive-ctl serve</c> as a child process on a free loopback port, SQLite in the
/// sandbox, three tokens (admin, reader, agent) in token files, crawling the sandbox's node config backends.
/// </summary>
internal sealed class ControlPlaneServer : IAsyncDisposable
{
    private readonly CtlProcess _process;

    private ControlPlaneServer(CtlProcess process, Uri baseUrl, string tokensDirectory)
    {
        _process = process;
        BaseUrl = baseUrl;
        AdminTokenFile = Path.Combine(tokensDirectory, "admin.token");
        ReaderTokenFile = Path.Combine(tokensDirectory, "reader.token");
        AgentTokenFile = Path.Combine(tokensDirectory, "agent.token");
    }

    public Uri BaseUrl { get; }

    public string Server => BaseUrl.ToString().TrimEnd('/');

    public string AdminTokenFile { get; }

    public string ReaderTokenFile { get; }

    public string AgentTokenFile { get; }

    public static async Task<ControlPlaneServer> StartAsync(Sandbox sandbox)
    {
        var tokens = Path.Combine(sandbox.Root, "tokens");
        Directory.CreateDirectory(tokens);
        foreach (var role in new[] { "admin", "reader", "agent" })
        {
            await File.WriteAllTextAsync(Path.Combine(tokens, $"{role}.token"), $"{role}-{Guid.NewGuid():N}\n");
        }

        var tokensFile = Path.Combine(tokens, "tokens.yaml");
        await File.WriteAllTextAsync(tokensFile, """
            - { token_file: admin.token, name: ops, role: admin }
            - { token_file: reader.token, name: dashboards, role: reader }
            - { token_file: agent.token, name: node-1, role: agent }
            """);
        var process = CtlProcess.Start(["serve", "--listen", "127.0.0.1:0", "--database", $"sqlite://{Path.Combine(sandbox.Root, "cp.db")}",
            "--tokens-file", tokensFile, "--config", sandbox.ConfigPath]);
        try
        {
            var line = await process.WaitForStderrAsync("serving the control plane on ");
            var url = line[(line.IndexOf("http", StringComparison.Ordinal))..].Split(' ')[0];
            return new ControlPlaneServer(process, new Uri(url), tokens);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, string tokenFile)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(method, new Uri(BaseUrl, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(tokenFile)).Trim());
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        var response = await http.SendAsync(request);
        Assert.That(response.IsSuccessStatusCode, Is.True, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return response;
    }

    /// <summary>Sends SIGTERM and waits for the exit (DisposeAsync then has nothing left to stop).</summary>
    public async Task<CtlResult> TerminateAsync()
    {
        _process.Terminate();
        return await _process.WaitAsync();
    }

    /// <summary>Stops the server with SIGINT, as Ctrl-C would, and checks it exits cleanly.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_process.HasExited)
        {
            await _process.DisposeAsync();
            return;
        }

        _process.Interrupt();
        var result = await _process.WaitAsync();
        await _process.DisposeAsync();
        Assert.That(result.ExitCode, Is.Zero, "serve stops cleanly on Ctrl-C: " + result);
    }
}
